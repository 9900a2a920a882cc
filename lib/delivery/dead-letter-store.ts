import { randomUUID } from 'node:crypto';
import { GroupCommitter } from '../storage/group-commit';
import { openDurableSqlite, type SqliteDatabase } from '../storage/sqlite';

/** Why a message was dead-lettered: one failure. */
export interface FailureReason {
  code: string;
  message: string;
  /** The system the message was going to (ERP, MES...), when known. */
  target?: string;
  attempts: number;
  firstFailureAt: string;
  lastFailureAt: string;
}

export interface NodeRef {
  id: string;
  type?: string;
  name?: string;
}

export interface DeadLetterInput {
  /** The original message payload, kept exactly as received (objects, strings and buffers). */
  original: unknown;
  reason: FailureReason;
  /** The flow (tab) and node the message failed in. */
  flow?: NodeRef;
  node?: NodeRef;
  /** Set when a replayed message failed again: its record gets the new failure appended. */
  deadLetterId?: string;
}

export type DeadLetterStatus = 'parked' | 'replayed';

export interface DeadLetterRecord {
  id: string;
  status: DeadLetterStatus;
  original: unknown;
  eventId?: string;
  type?: string;
  correlationId?: string;
  idempotencyKey?: string;
  reason: FailureReason;
  flow?: NodeRef;
  node?: NodeRef;
  /** Earlier failures of this message, oldest first (a replay that failed again). */
  history: FailureReason[];
  replayCount: number;
  createdAt: string;
  updatedAt: string;
}

/** Which records a list, replay or purge applies to. Fields combine with AND. */
export interface DeadLetterSelector {
  ids?: string[];
  correlationId?: string;
  type?: string;
  /** ISO times bounding the last failure. */
  from?: string;
  to?: string;
  /** Default: parked only. 'any' includes records already replayed. */
  status?: DeadLetterStatus | 'any';
  limit?: number;
}

interface Row {
  id: string;
  status: DeadLetterStatus;
  original: string;
  original_encoding: 'json' | 'base64';
  event_id: string | null;
  type: string | null;
  correlation_id: string | null;
  idempotency_key: string | null;
  reason: string;
  flow: string | null;
  node: string | null;
  history: string;
  replay_count: number;
  created_at: string;
  updated_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dead_letters (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  original TEXT NOT NULL,
  original_encoding TEXT NOT NULL,
  event_id TEXT,
  type TEXT,
  correlation_id TEXT,
  idempotency_key TEXT,
  reason TEXT NOT NULL,
  last_failure_at TEXT NOT NULL,
  flow TEXT,
  node TEXT,
  history TEXT NOT NULL,
  replay_count INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_correlation ON dead_letters (correlation_id);
CREATE INDEX IF NOT EXISTS dead_letters_failure ON dead_letters (last_failure_at);
`;

const MAX_LIMIT = 10000;

function encodeOriginal(original: unknown): { text: string; encoding: 'json' | 'base64' } {
  if (Buffer.isBuffer(original)) return { text: original.toString('base64'), encoding: 'base64' };
  return { text: JSON.stringify(original === undefined ? null : original), encoding: 'json' };
}

function envelopeField(original: unknown, name: string): string | null {
  if (original === null || typeof original !== 'object' || Buffer.isBuffer(original)) return null;
  const v = (original as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : null;
}

function toRecord(row: Row): DeadLetterRecord {
  const rec: DeadLetterRecord = {
    id: row.id,
    status: row.status,
    original: row.original_encoding === 'base64' ? Buffer.from(row.original, 'base64') : JSON.parse(row.original),
    reason: JSON.parse(row.reason),
    history: JSON.parse(row.history),
    replayCount: row.replay_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.event_id) rec.eventId = row.event_id;
  if (row.type) rec.type = row.type;
  if (row.correlation_id) rec.correlationId = row.correlation_id;
  if (row.idempotency_key) rec.idempotencyKey = row.idempotency_key;
  if (row.flow) rec.flow = JSON.parse(row.flow);
  if (row.node) rec.node = JSON.parse(row.node);
  return rec;
}

/**
 * Dead-letter records on SQLite (Camel's DeadLetterChannel, with the record kept for replay):
 * the original message untouched, why it failed, where, and every earlier failure when a replay
 * failed again. Writes are durable before their promise resolves.
 */
export class DeadLetterStore {
  private readonly db: SqliteDatabase;
  private readonly commits: GroupCommitter;

  constructor(file: string, private readonly now: () => Date = () => new Date()) {
    this.db = openDurableSqlite(file);
    this.db.exec(SCHEMA);
    this.commits = new GroupCommitter(this.db);
  }

  /** Parks a failed message; a failed replay (deadLetterId set and known) re-parks its record with history. */
  add(input: DeadLetterInput): Promise<DeadLetterRecord> {
    return this.commits.run(() => {
      const at = this.now().toISOString();
      const existing = input.deadLetterId
        ? (this.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(input.deadLetterId) as Row | undefined)
        : undefined;
      if (existing) {
        const history = [...(JSON.parse(existing.history) as FailureReason[]), JSON.parse(existing.reason) as FailureReason];
        this.db
          .prepare(`UPDATE dead_letters SET status = 'parked', reason = ?, last_failure_at = ?, flow = ?, node = ?, history = ?, updated_at = ? WHERE id = ?`)
          .run(JSON.stringify(input.reason), input.reason.lastFailureAt, json(input.flow), json(input.node), JSON.stringify(history), at, existing.id);
        return toRecord(this.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(existing.id) as Row);
      }
      const { text, encoding } = encodeOriginal(input.original);
      const id = randomUUID();
      this.db
        .prepare(
          `INSERT INTO dead_letters (id, status, original, original_encoding, event_id, type, correlation_id, idempotency_key,
             reason, last_failure_at, flow, node, history, replay_count, created_at, updated_at)
           VALUES (?, 'parked', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', 0, ?, ?)`,
        )
        .run(
          id, text, encoding,
          envelopeField(input.original, 'id'), envelopeField(input.original, 'type'),
          envelopeField(input.original, 'correlationid'), envelopeField(input.original, 'idempotencykey'),
          JSON.stringify(input.reason), input.reason.lastFailureAt, json(input.flow), json(input.node), at, at,
        );
      return toRecord(this.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(id) as Row);
    });
  }

  async list(selector: DeadLetterSelector = {}): Promise<DeadLetterRecord[]> {
    const { where, params } = whereClause(selector);
    const limit = Math.min(Math.max(1, selector.limit ?? 100), MAX_LIMIT);
    const rows = this.db.prepare(`SELECT * FROM dead_letters ${where} ORDER BY last_failure_at, id LIMIT ${limit}`).all(...params) as Row[];
    return rows.map(toRecord);
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM dead_letters WHERE id = ?').get(id) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** Marks records as replayed (their messages were sent again); returns the updated records. */
  markReplayed(ids: readonly string[]): Promise<DeadLetterRecord[]> {
    return this.commits.run(() => {
      const at = this.now().toISOString();
      const update = this.db.prepare(`UPDATE dead_letters SET status = 'replayed', replay_count = replay_count + 1, updated_at = ? WHERE id = ?`);
      const get = this.db.prepare('SELECT * FROM dead_letters WHERE id = ?');
      return ids.flatMap((id) => (update.run(at, id).changes === 1 ? [toRecord(get.get(id) as Row)] : []));
    });
  }

  /** Deletes the selected records; like every selector, parked ones only unless `status` says otherwise. */
  purge(selector: DeadLetterSelector = {}): Promise<number> {
    const { where, params } = whereClause(selector);
    return this.commits.run(() => this.db.prepare(`DELETE FROM dead_letters ${where}`).run(...params).changes);
  }

  count(status: DeadLetterStatus | 'any' = 'parked'): number {
    const sql = status === 'any' ? 'SELECT count(*) AS n FROM dead_letters' : 'SELECT count(*) AS n FROM dead_letters WHERE status = ?';
    const row = (status === 'any' ? this.db.prepare(sql).get() : this.db.prepare(sql).get(status)) as { n: number };
    return row.n;
  }

  async close(): Promise<void> {
    this.commits.close();
    this.db.close();
  }
}

function json(v: unknown): string | null {
  return v === undefined ? null : JSON.stringify(v);
}

function whereClause(s: DeadLetterSelector): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const status = s.status ?? 'parked';
  if (status !== 'any') {
    clauses.push('status = ?');
    params.push(status);
  }
  if (s.ids) {
    clauses.push(`id IN (${s.ids.map(() => '?').join(',') || 'NULL'})`);
    params.push(...s.ids);
  }
  if (s.correlationId !== undefined) {
    clauses.push('correlation_id = ?');
    params.push(s.correlationId);
  }
  if (s.type !== undefined) {
    clauses.push('type = ?');
    params.push(s.type);
  }
  if (s.from !== undefined) {
    clauses.push('last_failure_at >= ?');
    params.push(new Date(s.from).toISOString());
  }
  if (s.to !== undefined) {
    clauses.push('last_failure_at <= ?');
    params.push(new Date(s.to).toISOString());
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
