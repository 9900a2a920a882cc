/** One request that reached a simulator's business logic (a write), a replay, or a fault. */
export interface LedgerEntry {
  seq: number;
  at: string;
  system: string;
  method: string;
  path: string;
  /** Repeatability-Request-ID / ExternalSystemConfirmation / Idempotency-Key, whichever applies. */
  key: string | null;
  body: unknown;
  /** null when nothing was answered (timeout fault). */
  status: number | null;
  response: unknown;
  /** The request's repeatability headers as received (lower-case names), when it carried any. */
  headers?: Record<string, string>;
  /** seq of the first request whose response this one repeated. */
  replayOf?: number;
  /** Which injected fault shaped this request: status, errorRate, timeout or dropAfterCommit. */
  fault?: string;
}

export type LedgerInput = Omit<LedgerEntry, 'seq' | 'at' | 'system'>;

/** Append-only record of what a simulator did, for tests and auditors. */
export class Ledger {
  private entries: LedgerEntry[] = [];
  private posted = new Set<number>();
  private seq = 0;

  constructor(private readonly system: string) {}

  /** `posted` marks an entry that created or changed a business document. */
  record(input: LedgerInput, posted: boolean): number {
    // Field order as documented, optional fields only when set.
    const entry: LedgerEntry = {
      seq: ++this.seq, at: new Date().toISOString(), system: this.system, method: input.method, path: input.path,
      key: input.key, body: input.body, status: input.status, response: input.response,
    };
    if (input.headers !== undefined && Object.keys(input.headers).length > 0) entry.headers = { ...input.headers };
    if (input.replayOf !== undefined) entry.replayOf = input.replayOf;
    if (input.fault !== undefined) entry.fault = input.fault;
    this.entries.push(entry);
    if (posted) this.posted.add(entry.seq);
    return entry.seq;
  }

  markFault(seq: number, fault: string): void {
    const entry = this.entries.find((e) => e.seq === seq);
    if (entry) entry.fault = fault;
  }

  all(): LedgerEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /** Entries that created a document: no replays, no faults that prevented the work. */
  postings(): LedgerEntry[] {
    return this.entries.filter((e) => this.posted.has(e.seq)).map((e) => ({ ...e }));
  }

  clear(): void {
    this.entries = [];
    this.posted.clear();
    this.seq = 0;
  }
}
