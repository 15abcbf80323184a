/** One change waiting for its batch. */
interface Waiting<I, O> {
  readonly item: I;
  resolve(result: O): void;
  reject(error: unknown): void;
}

/** One item's outcome within a batch. */
export type Settled<O> = { readonly value: O } | { readonly error: unknown };

export interface CommitBatcherOptions<I, O> {
  /** Runs one batch; resolves with one outcome per item, in order (a rejection fails them all). */
  readonly run: (items: readonly I[]) => Promise<readonly Settled<O>[]>;
  /** Batches in flight at once. */
  readonly maxInFlight: number;
  /** Items in one batch at most. */
  readonly maxBatch: number;
}

/**
 * Group commit without added latency: an item submitted while fewer than `maxInFlight` batches
 * are running goes out at once, alone; items submitted while they are all busy wait for the first
 * to return and then go out together, as one statement and one transaction. Under load, many
 * steps' commits share one round trip and one WAL flush; when idle, nothing waits.
 */
export class CommitBatcher<I, O> {
  private readonly queue: Waiting<I, O>[] = [];
  private inFlight = 0;

  constructor(private readonly options: CommitBatcherOptions<I, O>) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      this.options
        .run(batch.map((w) => w.item))
        .then(
          (results) =>
            batch.forEach((w, i) => {
              const r = results[i];
              if (r === undefined) w.reject(new Error('a batch returned fewer results than items'));
              else if ('value' in r) w.resolve(r.value);
              else w.reject(r.error);
            }),
          (err: unknown) => batch.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }
}
