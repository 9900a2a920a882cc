import * as assert from 'node:assert/strict';
import { helper } from '../helpers/node-helper';

const major = (v: string) => Number(/^v?(\d+)/.exec(v)?.[1]);

describe('runtime versions of this run', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeRed = (require('node-red/package.json') as { version: string }).version;

  it('runs a supported Node and Node-RED pair, the test helper on that same Node-RED', () => {
    console.log(`      Node ${process.version}, Node-RED ${nodeRed}`);
    assert.ok(major(process.version) >= 20, 'Node 20 or later');
    assert.ok(major(nodeRed) >= 4, 'Node-RED 4 or later');
    if (major(nodeRed) >= 5) assert.ok(major(process.version) >= 22, 'Node-RED 5 needs Node 22');
    const helperRuntime = (helper as unknown as { _RED: { version(): string } })._RED.version();
    assert.equal(helperRuntime.replace(/-git$/, ''), nodeRed, 'node-red-node-test-helper drives the installed runtime');
  });

  it('matches the leg CI asked for', function () {
    const wantNode = process.env.PLANTSYNC_EXPECT_NODE_MAJOR;
    const wantRed = process.env.PLANTSYNC_EXPECT_NODE_RED_MAJOR;
    if (!wantNode && !wantRed) this.skip();
    if (wantNode) assert.equal(major(process.version), Number(wantNode), `Node ${process.version}`);
    if (wantRed) assert.equal(major(nodeRed), Number(wantRed), `Node-RED ${nodeRed}`);
  });
});
