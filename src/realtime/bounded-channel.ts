/**
 * An async-iterable queue with a fixed capacity, between a producer that must never wait (the bus)
 * and a consumer that may be slow (a subscriber's socket). When the buffer is full the channel
 * fails with the error `onOverflow` builds, instead of growing without bound or slowing others.
 */
export class BoundedChannel<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  /** Sum of the weights of the buffered items. */
  private load = 0;
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private failWaiting: ((err: unknown) => void) | undefined;
  private failure: unknown;
  private closed = false;

  constructor(
    private readonly capacity: number,
    private readonly onOverflow: () => Error,
    private readonly onClose: () => void = () => {},
    /** How much of the capacity an item takes (a batch: its number of events); 1 by default. */
    private readonly weigh: (item: T) => number = () => 1,
  ) {}

  /** Queues an item; false when the channel is closed or just overflowed. */
  push(item: T): boolean {
    if (this.closed || this.failure) return false;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      resolve({ value: item, done: false });
      return true;
    }
    const weight = this.weigh(item);
    if (this.buffer.length > 0 && this.load + weight > this.capacity) {
      this.fail(this.onOverflow());
      return false;
    }
    this.buffer.push(item);
    this.load += weight;
    return true;
  }

  /** Ends the stream with an error at once; buffered items are dropped. */
  fail(err: unknown): void {
    if (this.closed || this.failure) return;
    this.failure = err;
    this.buffer.length = 0;
    this.load = 0;
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.waiting = this.failWaiting = undefined;
      reject(err);
    }
    this.onClose();
  }

  /**
   * Ends the stream after what is buffered: the consumer reads those items, then `done`. Nothing
   * more can be pushed.
   */
  end(): void {
    if (this.closed || this.failure) return;
    this.closed = true;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      resolve({ value: undefined, done: true });
    }
    this.onClose();
  }

  get isOpen(): boolean {
    return !this.closed && !this.failure;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) {
      const item = this.buffer.shift()!;
      this.load -= this.weigh(item);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.failure) {
      const err = this.failure;
      this.closed = true;
      return Promise.reject(err);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    // Also after end(): what is still buffered is not wanted any more.
    this.buffer.length = 0;
    this.load = 0;
    if (!this.closed) {
      this.closed = true;
      this.waiting?.({ value: undefined, done: true });
      this.waiting = this.failWaiting = undefined;
      if (!this.failure) this.onClose();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err: unknown): Promise<IteratorResult<T>> {
    this.fail(err);
    return this.return();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
