import Ajv2020 from 'ajv/dist/2020';
import type { Options } from 'ajv';
import addFormats from 'ajv-formats';
import { isRfc3339DateTime } from './formats';

/** The ajv options every PlantSync validator is compiled with (the benchmark's baseline uses them too). */
export const AJV_OPTIONS: Readonly<Options> = Object.freeze({
  allErrors: true,
  strict: true,
  allowUnionTypes: true,
});

/** A JSON Schema 2020-12 ajv instance with the URI formats and a strict RFC 3339 `date-time`. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ ...AJV_OPTIONS });
  addFormats(ajv, ['uri', 'uri-reference']);
  ajv.addFormat('date-time', { type: 'string', validate: isRfc3339DateTime });
  return ajv;
}
