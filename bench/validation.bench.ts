/**
 * Validation throughput: PlantSync's registry (type lookup, lifecycle, envelope + data schema,
 * problem mapping) against plain ajv validating the same documents with the same compiled
 * schemas, in the same process, alternating rounds so machine noise hits both alike.
 *
 *   node dist/bench/validation.bench.js [--rounds N] [--ms M] [--goal 0.8]
 *
 * Prints one JSON line and exits 1 when the median ratio is below the goal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { createAjv, eventSchema, SchemaRegistry, type CanonicalEvent } from '../lib';
import { listDataSchemaFiles, readSchemaFile } from '../lib/canonical/schema-files';
import { benchArg } from './bench-args';

const arg = benchArg;
const ROUNDS = arg('rounds', 7);
const ROUND_MS = arg('ms', 400);
const GOAL = arg('goal', 0.8);

/** A shop-floor mix in the current versions: execution events dominate, planning and integration events are rarer (upcasting is measured apart). */
const WEIGHTS: Record<string, number> = {
  'mfg.operation.completed.v3': 20,
  'mfg.equipment.state.changed.v2': 20,
  'mfg.material.consumed.v2': 15,
  'mfg.inventory.moved.v2': 8,
  'mfg.production.confirmed.v1': 6,
  'mfg.integration.acknowledged.v1': 8,
  'mfg.equipment.downtime.started.v1': 2,
  'mfg.equipment.downtime.ended.v1': 2,
  'mfg.quality.disposition.changed.v1': 2,
  'mfg.material.returned.v2': 2,
  'mfg.productionorder.released.v1': 2,
  'mfg.productionorder.revised.v1': 1,
  'mfg.productionorder.cancelled.v1': 1,
  'mfg.productionorder.releaserejected.v1': 1,
  'mfg.integration.failed.v1': 2,
  'mfg.integration.deadlettered.v1': 1,
  'mfg.integration.replayed.v1': 1,
};

function loadMix(): CanonicalEvent[] {
  const dir = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'events');
  const mix: CanonicalEvent[] = [];
  for (const [type, weight] of Object.entries(WEIGHTS)) {
    const valid = JSON.parse(fs.readFileSync(path.join(dir, `${type}.json`), 'utf8')).valid as CanonicalEvent[];
    for (let i = 0; i < weight; i++) mix.push(structuredClone(valid[i % valid.length]));
  }
  // A fixed shuffle, so that both contenders see the same order.
  let seed = 42;
  for (let i = mix.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [mix[i], mix[j]] = [mix[j], mix[i]];
  }
  return mix;
}

/** Plain ajv: same options, same schemas, the validator picked in advance for each document. */
function plainAjv(mix: CanonicalEvent[]): Array<[ValidateFunction, CanonicalEvent]> {
  const ajv = createAjv();
  ajv.addSchema(readSchemaFile('common.json'));
  ajv.addSchema(readSchemaFile('envelope.json'));
  const byType = new Map<string, ValidateFunction>();
  for (const file of listDataSchemaFiles()) {
    ajv.addSchema(readSchemaFile(`data/${file}`));
  }
  for (const file of listDataSchemaFiles()) {
    const type = file.replace(/\.json$/, '');
    byType.set(type, ajv.compile(eventSchema(type)));
  }
  return mix.map((e) => [byType.get(e.type) as ValidateFunction, e]);
}

function rate(run: () => number): number {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ROUND_MS) * 1_000_000n;
  let n = 0;
  let now = start;
  while (now < deadline) {
    n += run();
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main(): void {
  const mix = loadMix();
  const registry = new SchemaRegistry();
  const pairs = plainAjv(mix);
  for (const e of mix) {
    if (!registry.validate(e).valid) throw new Error(`bench document ${e.type} is invalid`);
  }
  const plant = () => {
    let ok = 0;
    for (let i = 0; i < mix.length; i++) if (registry.validate(mix[i]).valid) ok++;
    if (ok !== mix.length) throw new Error('a valid document failed');
    return mix.length;
  };
  const plain = () => {
    let ok = 0;
    for (let i = 0; i < pairs.length; i++) if (pairs[i][0](pairs[i][1])) ok++;
    if (ok !== pairs.length) throw new Error('a valid document failed');
    return pairs.length;
  };
  rate(plant);
  rate(plain);
  const ours: number[] = [];
  const base: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = r % 2 === 0 ? rate(plain) : 0;
    const b = rate(plant);
    const c = r % 2 === 1 ? rate(plain) : a;
    base.push(c);
    ours.push(b);
    ratios.push(b / c);
  }
  const v1 = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'events', 'mfg.operation.completed.v1.json'), 'utf8')).valid as CanonicalEvent[];
  const upcast = rate(() => {
    for (const e of v1) if (!registry.validate(e).valid) throw new Error('v1 failed');
    return v1.length;
  });
  const result = {
    bench: 'validation',
    documents: mix.length,
    types: Object.keys(WEIGHTS).length,
    plantsyncPerSec: Math.round(median(ours)),
    plainAjvPerSec: Math.round(median(base)),
    ratio: Number(median(ratios).toFixed(3)),
    ratios: ratios.map((x) => Number(x.toFixed(3))),
    upcastV1PerSec: Math.round(upcast),
    goal: GOAL,
    node: process.version,
  };
  console.log(JSON.stringify(result));
  if (result.ratio < GOAL) {
    console.error(`validation bench: ratio ${result.ratio} is below the goal ${GOAL}`);
    process.exitCode = 1;
  }
}

main();
