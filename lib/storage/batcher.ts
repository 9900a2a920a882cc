/** One item's result in a batch: a batch may settle its items one by one (savepoints) or together. */
export type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface BatcherOptions<I, O> {
  /**
   * Runs one chunk of items. Returns (or resolves with) one outcome per item, in order; throwing
   * or rejecting fails the whole chunk.
   */
  dispatch: (items: I[]) => Array<Outcome<O>> | Promise<Array<Outcome<O>>>;
  /** Runs a chunk of one instead of `dispatch`, where a single statement is cheaper than a batch. */
  single?: (item: I) => Promise<O>;
  /** Largest chunk (default 2000). */
  maxBatch?: number;
  /** Chunks a turn's items are spread over, e.g. the connections available (default 1). */
  parallelism?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/**
 * The one batcher of the stores: gathers the calls made in one turn of the event loop and runs
 * them as chunks, so that many concurrent single operations cost a few commits or round trips
 * instead of one each. The calls are spread over up to `parallelism` chunks of at most
 * `maxBatch`; when every chunk would be full the batch goes at once instead of waiting for the
 * turn to end (bounded memory and latency under a burst).
 */
export class Batcher<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly maxBatch: number;
  private readonly parallelism: number;

  constructor(private readonly options: BatcherOptions<I, O>) {
    this.maxBatch = options.maxBatch ?? 2000;
    this.parallelism = options.parallelism ?? 1;
  }

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= this.maxBatch * this.parallelism) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Dispatches everything queued now. */
  flush(): void {
    this.scheduled = false;
    const all = this.waiting;
    if (all.length === 0) return;
    this.waiting = [];
    const size = Math.min(this.maxBatch, Math.max(1, Math.ceil(all.length / this.parallelism)));
    for (let i = 0; i < all.length; i += size) this.dispatch(all.slice(i, i + size));
  }

  /** Dispatches what is queued and waits for every chunk under way (before closing a connection). */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private dispatch(chunk: Waiting<I, O>[]): void {
    const { single, dispatch } = this.options;
    let done: Promise<Array<Outcome<O>>>;
    try {
      done =
        chunk.length === 1 && single
          ? single(chunk[0].item).then((value) => [{ ok: true as const, value }])
          : Promise.resolve(dispatch(chunk.map((w) => w.item)));
    } catch (err) {
      done = Promise.reject(err);
    }
    const settled = done.then(
      (outcomes) =>
        chunk.forEach((w, n) => {
          const o = outcomes[n];
          if (o === undefined) w.resolve(undefined as O); // a batch that answers for fewer items
          else if (o.ok) w.resolve(o.value);
          else w.reject(o.error);
        }),
      (err: unknown) => chunk.forEach((w) => w.reject(err)),
    );
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
  }
}

/** Wraps a whole-chunk batch function (all items succeed or fail together) as a dispatch. */
export function allOrNothing<I, O>(batch: (items: I[]) => Promise<O[]>): (items: I[]) => Promise<Array<Outcome<O>>> {
  return (items) => batch(items).then((values) => values.map((value) => ({ ok: true as const, value })));
}
