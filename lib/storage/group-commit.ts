import type { SqliteDatabase } from './sqlite';

interface Pending {
  op: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for SQLite: operations queued in the same turn of the event loop run in one
 * IMMEDIATE transaction, and their promises settle only after that transaction has committed
 * (with synchronous=FULL: after the fsync). One flush per batch instead of one per operation is
 * what makes durable commits fast; nothing is reported done before it is on disk.
 *
 * Each operation runs in its own savepoint, so one that throws is rolled back and rejected alone
 * while the rest of the batch commits.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly maxBatch = 2000,
  ) {}

  run<T>(op: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs everything queued now, in one transaction. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: Array<{ ok: boolean; value: unknown }> = new Array(batch.length);
    try {
      this.db.transaction(() => {
        for (let i = 0; i < batch.length; i++) {
          try {
            outcomes[i] = { ok: true, value: this.db.transaction(batch[i].op)() };
          } catch (err) {
            outcomes[i] = { ok: false, value: err };
          }
        }
      }).immediate();
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nothing of this batch is durable.
      for (const p of batch) p.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      if (outcomes[i].ok) batch[i].resolve(outcomes[i].value);
      else batch[i].reject(outcomes[i].value);
    }
  }

  /** Flushes what is queued and refuses further work. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
