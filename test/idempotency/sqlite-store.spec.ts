import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteIdempotencyStore } from '../../lib/idempotency/sqlite-store';
import { idempotencyContract } from './store-contract';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-idem-'));
let n = 0;
let file = '';
after(() => fs.rmSync(dir, { recursive: true, force: true }));

idempotencyContract('SQLite', () => ({
  open: async (env) => {
    file = path.join(dir, `idem-${++n}.db`);
    return new SqliteIdempotencyStore(file, env);
  },
  spec: () => ({ kind: 'sqlite', file }),
}));
