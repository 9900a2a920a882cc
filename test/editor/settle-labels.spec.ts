/**
 * The settle nodes say on the canvas what they settle: the editor definitions' labels and
 * defaults, including a node from a flow saved before the "also settle the delivery" option.
 */
import * as assert from 'node:assert/strict';
import { freshNode, loadEditorDefinition } from '../helpers/editor-definition';

describe('editor: settle node labels say what they settle', () => {
  const claim = loadEditorDefinition('plantsync-idempotency-complete');
  const delivery = loadEditorDefinition('plantsync-settle-delivery');
  const label = (def: typeof claim, node: Record<string, unknown>) => def.label!.call(node);

  it('a new settle claim node settles the delivery too, and says so', () => {
    const node = freshNode(claim);
    assert.equal(node.settleDelivery, true);
    assert.equal(label(claim, node), 'settle claim + delivery: complete');
  });

  it('a node saved before the option existed (no settleDelivery) is labelled as settling both, as it does', () => {
    assert.equal(label(claim, { name: '', action: 'failure', result: 'payload', resultType: 'msg' }), 'settle claim + delivery: failure');
  });

  it('with the option off it is a settle claim node', () => {
    assert.equal(label(claim, { ...freshNode(claim), settleDelivery: false, action: 'release' }), 'settle claim: release');
  });

  it('settle delivery names its action; a name given by the user wins', () => {
    assert.equal(label(delivery, freshNode(delivery)), 'settle delivery: ack');
    assert.equal(label(delivery, { ...freshNode(delivery), action: 'failure' }), 'settle delivery: failure');
    assert.equal(label(delivery, { ...freshNode(delivery), name: 'ack the ERP post' }), 'ack the ERP post');
  });
});
