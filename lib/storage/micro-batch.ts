interface Waiting<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/**
 * Gathers the calls made in one turn of the event loop and runs them as batches, so that many
 * concurrent single operations cost a few round trips instead of one each. The calls are spread
 * over up to `parallelism` chunks (the connections available) of at most `maxBatch`: a few calls
 * still run side by side, one per connection, where the database overlaps their commits, while
 * hundreds share a statement per connection. A chunk of one goes through `single`, which avoids
 * the batch statement's overhead.
 */
export class MicroBatcher<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly batch: (items: I[]) => Promise<O[]>,
    private readonly single: (item: I) => Promise<O>,
    private readonly maxBatch = 100,
    private readonly parallelism = 8,
  ) {}

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.waiting;
    this.waiting = [];
    const size = Math.min(this.maxBatch, Math.max(1, Math.ceil(all.length / this.parallelism)));
    for (let i = 0; i < all.length; i += size) {
      const chunk = all.slice(i, i + size);
      const done = chunk.length === 1 ? this.single(chunk[0].item).then((o) => [o]) : this.batch(chunk.map((w) => w.item));
      const settled = done.then(
        (outs) => chunk.forEach((w, n) => w.resolve(outs[n])),
        (err: unknown) => chunk.forEach((w) => w.reject(err)),
      );
      this.inFlight.add(settled);
      void settled.finally(() => this.inFlight.delete(settled));
    }
  }

  /** Sends what is queued now and waits for every batch under way (before closing the connection). */
  async drain(): Promise<void> {
    if (this.waiting.length > 0) this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
