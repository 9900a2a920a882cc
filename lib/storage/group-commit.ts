import { Batcher, type Outcome } from './batcher';
import type { SqliteDatabase } from './sqlite';

/**
 * Group commit for SQLite: operations queued in the same turn of the event loop run in one
 * IMMEDIATE transaction, and their promises settle only after that transaction has committed
 * (with synchronous=FULL: after the fsync). One flush per batch instead of one per operation is
 * what makes durable commits fast; nothing is reported done before it is on disk.
 *
 * Each operation runs in its own savepoint, so one that throws is rolled back and rejected alone
 * while the rest of the batch commits. A failed commit (disk full, I/O error) rejects the batch.
 */
export class GroupCommitter {
  private readonly batcher: Batcher<() => unknown, unknown>;
  private closed = false;

  constructor(
    private readonly db: SqliteDatabase,
    maxBatch = 2000,
  ) {
    this.batcher = new Batcher({ dispatch: (ops) => this.commit(ops), maxBatch });
  }

  run<T>(op: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return this.batcher.run(op) as Promise<T>;
  }

  /** Runs everything queued now, in one transaction. */
  flush(): void {
    this.batcher.flush();
  }

  /** Flushes what is queued and refuses further work. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private commit(ops: Array<() => unknown>): Array<Outcome<unknown>> {
    const outcomes: Array<Outcome<unknown>> = new Array(ops.length);
    this.db.transaction(() => {
      for (let i = 0; i < ops.length; i++) {
        try {
          outcomes[i] = { ok: true, value: this.db.transaction(ops[i])() };
        } catch (error) {
          outcomes[i] = { ok: false, error };
        }
      }
    }).immediate();
    return outcomes;
  }
}
