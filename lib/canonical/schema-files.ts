import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Where the published JSON Schemas live: `schemas/` at the package root. The compiled core sits in
 * `dist/lib/canonical/`, three levels below it, both in this repository and in the npm tarball.
 */
export const SCHEMA_DIR = path.resolve(__dirname, '..', '..', '..', 'schemas');

export function readSchemaFile(relative: string): Record<string, unknown> {
  const file = path.join(SCHEMA_DIR, relative);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** File names (without directory) of the per-type data schemas, e.g. mfg.operation.completed.v2.json. */
export function listDataSchemaFiles(): string[] {
  return fs
    .readdirSync(path.join(SCHEMA_DIR, 'data'))
    .filter((f) => f.endsWith('.json'))
    .sort();
}
