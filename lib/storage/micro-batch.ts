import { allOrNothing, Batcher } from './batcher';

/**
 * The Batcher with whole-chunk batches, under the name and arguments lib/idempotency/postgres-store
 * uses: `batch` runs a chunk (all items share its fate), `single` a chunk of one. Kept only for that
 * importer; new code uses Batcher directly.
 */
export class MicroBatcher<I, O> extends Batcher<I, O> {
  constructor(batch: (items: I[]) => Promise<O[]>, single: (item: I) => Promise<O>, maxBatch = 100, parallelism = 8) {
    super({ dispatch: allOrNothing(batch), single, maxBatch, parallelism });
  }
}
