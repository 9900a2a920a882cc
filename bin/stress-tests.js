#!/usr/bin/env node
/**
 * Runs the broker-free part of the test suite in ROUNDS rounds of COPIES copies at once, to find
 * tests that depend on timing or share state (files, ports) with a copy running beside them.
 *
 *   npm run build && node bin/stress-tests.js [--rounds 10] [--copies 4] [--copy-timeout-min 20] [--list] [--grep <mocha grep>] [spec.js ...]
 *
 * The broker-free set: every test/**\/*.spec.ts that reaches neither test/helpers/rabbitmq.ts nor
 * test/helpers/postgres.ts through its relative imports, without test/browser, test/package and
 * test/runtime/npm-start (they drive a browser, npm or a whole Node-RED install). Each copy runs
 * the compiled specs (dist/test) in one mocha process with its own TMPDIR, so every temp folder a
 * spec makes (mkdtemp) is its own; ports are chosen free by the specs. A copy still running after
 * --copy-timeout-min is killed (its process group) and counted as failed. Logs go to
 * test-output/stress/<round>-<copy>.log; the exit code is 1 if any copy failed.
 */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const TEST = path.join(ROOT, 'test');
const SERVICE_HELPERS = ['helpers/rabbitmq.ts', 'helpers/postgres.ts'].map((f) => path.join(TEST, f));
const EXCLUDED = ['browser', 'package', path.join('runtime', 'npm-start.spec.ts')].map((f) => path.join(TEST, f));

function parseArgs(argv) {
  const o = { rounds: 10, copies: 4, copyTimeoutMin: 20, list: false, grep: undefined, specs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--rounds') o.rounds = Number(value());
    else if (a === '--copies') o.copies = Number(value());
    else if (a === '--copy-timeout-min') o.copyTimeoutMin = Number(value());
    else if (a === '--grep') o.grep = value();
    else if (a === '--list') o.list = true;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.specs.push(path.resolve(a));
  }
  for (const k of ['rounds', 'copies', 'copyTimeoutMin']) {
    if (!(Number.isFinite(o[k]) && o[k] > 0)) throw new Error(`--${k} must be a positive number`);
  }
  return o;
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** The .ts files a source file imports by relative path (import ... from, require(), import()). */
function localImports(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  const re = /(?:from\s+|require\(\s*|import\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const base = path.resolve(path.dirname(file), m[1]);
    for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
      if (candidate.endsWith('.ts') && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        out.push(candidate);
        break;
      }
    }
  }
  return out;
}

/** Whether `file` reaches one of SERVICE_HELPERS through relative imports inside test/. */
function needsServices(file, seen = new Set()) {
  if (SERVICE_HELPERS.includes(file)) return true;
  if (seen.has(file)) return false;
  seen.add(file);
  return localImports(file).filter((f) => f.startsWith(TEST + path.sep)).some((f) => needsServices(f, seen));
}

function brokerFreeSpecs() {
  return walk(TEST)
    .filter((f) => f.endsWith('.spec.ts'))
    .filter((f) => !EXCLUDED.some((x) => f === x || f.startsWith(x + path.sep)))
    .filter((f) => !needsServices(f))
    .sort()
    .map((f) => path.join(ROOT, 'dist', path.relative(ROOT, f)).replace(/\.ts$/, '.js'));
}

function runCopy(specs, { round, copy, timeoutMs, grep, logDir }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `plantsync-stress-${round}-${copy}-`));
  const log = path.join(logDir, `${round}-${copy}.log`);
  const out = fs.openSync(log, 'w');
  const args = [require.resolve('mocha/bin/mocha.js'), '--no-config', '--timeout', '60000', '--exit', '--reporter', 'dot'];
  if (grep) args.push('--grep', grep);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...args, ...specs], {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp },
      stdio: ['ignore', out, out],
      detached: true, // its own process group: a timeout kills the specs' children too
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fs.closeSync(out);
      const text = fs.readFileSync(log, 'utf8');
      const count = (word) => Number((new RegExp(`(\\d+) ${word}`).exec(text) ?? [])[1] ?? 0);
      const failures = [...text.matchAll(/^\s+\d+\) (.+)$/gm)].map((m) => m[1].trim());
      fs.rmSync(tmp, { recursive: true, force: true });
      resolve({
        round, copy, log,
        ok: code === 0 && !timedOut,
        code, signal, timedOut,
        passing: count('passing'), failing: count('failing'), pending: count('pending'),
        failures: [...new Set(failures)],
        seconds: Math.round((Date.now() - started) / 1000),
      });
    });
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const specs = o.specs.length > 0 ? o.specs : brokerFreeSpecs();
  if (o.list) {
    for (const s of specs) console.log(path.relative(ROOT, s));
    console.log(`${specs.length} specs`);
    return;
  }
  const missing = specs.filter((s) => !fs.existsSync(s));
  if (missing.length > 0) throw new Error(`not built (run npm run build first): ${missing.map((s) => path.relative(ROOT, s)).join(', ')}`);
  const logDir = path.join(ROOT, 'test-output', 'stress');
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  console.log(`${specs.length} broker-free specs, ${o.rounds} rounds of ${o.copies} copies at once, each copy bounded to ${o.copyTimeoutMin} min; logs in ${path.relative(ROOT, logDir)}`);
  const results = [];
  for (let round = 1; round <= o.rounds; round++) {
    const copies = await Promise.all(
      Array.from({ length: o.copies }, (_, i) => runCopy(specs, { round, copy: i + 1, timeoutMs: o.copyTimeoutMin * 60000, grep: o.grep, logDir })),
    );
    results.push(...copies);
    for (const r of copies) {
      const what = r.timedOut ? 'TIMED OUT' : r.ok ? 'pass' : 'FAIL';
      console.log(`round ${r.round} copy ${r.copy}: ${what} (${r.passing} passing, ${r.failing} failing, ${r.pending} pending, ${r.seconds} s)${r.ok ? '' : ` log ${path.relative(ROOT, r.log)}`}`);
      for (const f of r.failures) console.log(`    failed: ${f}`);
    }
  }
  const failed = results.filter((r) => !r.ok);
  console.log(`${results.length - failed.length}/${results.length} copies passed`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

main().catch((err) => {
  console.error(err.message);
  process.exit(2);
});
