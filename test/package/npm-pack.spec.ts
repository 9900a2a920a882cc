import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers/paths';

interface PackResult {
  files: { path: string }[];
}

describe('npm pack: what a user installs', function () {
  this.timeout(60000);
  let files: string[];
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));

  before(() => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, encoding: 'utf8' });
    files = (JSON.parse(out) as PackResult[])[0].files.map((f) => f.path).sort();
  });

  it('contains every node registered in package.json with its editor html, locales and icon', () => {
    const nodes = pkg['node-red'].nodes as Record<string, string>;
    assert.ok(Object.keys(nodes).length >= 2);
    for (const [type, file] of Object.entries(nodes)) {
      const dir = path.posix.dirname(file);
      // Config nodes have no palette icon.
      const isConfig = /category:\s*'config'/.test(fs.readFileSync(path.join(REPO_ROOT, 'nodes', type, `${type}.html`), 'utf8'));
      const expected = [file, file.replace(/\.js$/, '.html'), `${dir}/locales/en-US/${type}.json`, `${dir}/locales/en-US/${type}.html`];
      if (!isConfig) expected.push(`${dir}/icons/${type}.svg`);
      for (const f of expected) {
        assert.ok(files.includes(f), `${f} missing from the tarball`);
      }
    }
  });

  it('contains the compiled core, every schema and the examples', () => {
    assert.ok(files.includes('dist/lib/index.js'));
    assert.ok(files.includes('dist/lib/index.d.ts'));
    const schemas = fs.readdirSync(path.join(REPO_ROOT, 'schemas', 'data')).map((f) => `schemas/data/${f}`);
    for (const f of [...schemas, 'schemas/common.json', 'schemas/envelope.json', 'schemas/catalogue.json']) {
      assert.ok(files.includes(f), `${f} missing`);
    }
    const examples = fs.readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.json'));
    assert.ok(examples.length >= 1);
    for (const f of examples) assert.ok(files.includes(`examples/${f}`), `examples/${f} missing`);
    assert.ok(files.includes('LICENSE') && files.includes('README.md') && files.includes('package.json'));
  });

  it('leaves out tests, TypeScript sources, source maps, benchmarks and build caches', () => {
    const unwanted = files.filter((f) =>
      f.startsWith('test/') || f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.startsWith('bench/') ||
      (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.map') || f.endsWith('.tsbuildinfo') ||
      f.startsWith('node_modules/') || f.startsWith('.node-red/') || f.startsWith('.ci/') || f === 'tsconfig.json');
    assert.deepEqual(unwanted, []);
  });

  it('declares what the flow library expects of a Node-RED package', () => {
    assert.equal(pkg.name, 'node-red-contrib-plantsync');
    assert.ok(pkg.keywords.includes('node-red'));
    assert.equal(pkg['node-red'].version, '>=4.0.0');
    assert.equal(pkg.engines.node, '>=20');
    assert.ok(pkg.license && fs.existsSync(path.join(REPO_ROOT, 'LICENSE')));
    assert.ok(pkg.repository?.url);
    for (const dev of ['node-red', 'node-red-contrib-opcua', 'node-red-dashboard']) {
      assert.equal(pkg.dependencies?.[dev], undefined, `${dev} must not be a runtime dependency`);
    }
    assert.ok(Object.keys(pkg.dependencies).length <= 6, 'few runtime dependencies');
  });

  it('uses every non-config node in some example flow', () => {
    const used = new Set<string>();
    for (const f of fs.readdirSync(path.join(REPO_ROOT, 'examples')).filter((x) => x.endsWith('.json'))) {
      for (const n of JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8')) as { type: string }[]) used.add(n.type);
    }
    for (const type of Object.keys(pkg['node-red'].nodes)) assert.ok(used.has(type), `${type} is in no example`);
    assert.ok(Object.keys(pkg['node-red'].nodes).length >= 6);
  });
});
