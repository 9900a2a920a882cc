import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers/paths';

// ESLint is ESM-first; load it the way its own CommonJS entry allows.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ESLint } = require('eslint') as typeof import('eslint');

describe('lint: the pure core never imports Node-RED', function () {
  this.timeout(60000);
  const eslint = new ESLint({ cwd: REPO_ROOT });
  const probe = "import type { NodeAPI } from 'node-red';\nexport type Api = NodeAPI;\n";

  it('reports a node-red import in lib/', async () => {
    const [result] = await eslint.lintText(probe, { filePath: path.join(REPO_ROOT, 'lib', 'probe.ts') });
    assert.ok(result.messages.some((m) => m.ruleId === 'no-restricted-imports'), JSON.stringify(result.messages));
  });

  it('reports an import of the node wrappers from lib/', async () => {
    const code = "import { failMessage } from '../nodes/shared/fail';\nexport const f = failMessage;\n";
    const [result] = await eslint.lintText(code, { filePath: path.join(REPO_ROOT, 'lib', 'probe.ts') });
    assert.ok(result.messages.some((m) => m.ruleId === 'no-restricted-imports'), JSON.stringify(result.messages));
  });

  it('allows the same import in nodes/', async () => {
    const [result] = await eslint.lintText(probe, { filePath: path.join(REPO_ROOT, 'nodes', 'probe.ts') });
    assert.deepEqual(result.messages.filter((m) => m.ruleId === 'no-restricted-imports'), []);
  });
});
