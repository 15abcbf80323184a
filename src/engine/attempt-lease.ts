import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { RunCommandStore } from '../ports/run-command.store.port.js';

/** Thrown by {@link AttemptLease.assertHeld}: the attempt must not act on the world any more. */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

export interface AttemptLeaseOptions {
  readonly runs: Pick<RunCommandStore, 'extendLease'>;
  readonly stepRunId: string;
  /** The fence the attempt's claim set. */
  readonly fence: number;
  readonly leaseMs: number;
  /** When the claim that took the lease was sent, on {@link AttemptLeaseOptions.monotonicNow}'s clock. */
  readonly claimedAt: number;
  readonly logger: Logger;
  /** Told once when the lease is known to be gone (taken over, cancelled, or run out). */
  readonly onLost: (reason: string) => void;
  /** A clock that keeps running while the process is paused; defaults to `performance.now`. */
  readonly monotonicNow?: () => number;
}

/**
 * The lease of one running attempt, as this worker knows it. It is extended every third of its
 * length; an extension names the attempt's fence, so one that finds the step run moved on (a
 * cancel, another worker's takeover) ends the lease at once.
 *
 * The worker's own deadline is counted from when each extension was *sent*, on a monotonic
 * clock: the database measured the lease from a later instant, so the local deadline never
 * outlasts the real one, whatever the two machines' wall clocks say. A process paused past its
 * lease (SIGSTOP, a long GC, a VM stall) finds on waking that its deadline has passed before it
 * has heard anything, and {@link AttemptLease.assertHeld} refuses the send it was about to make.
 */
export class AttemptLease {
  private deadline: number;
  private lostReason: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private extending: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  /** Sends stop this long before the deadline: a request takes time to reach its receiver. */
  private readonly margin: number;

  constructor(private readonly options: AttemptLeaseOptions) {
    this.now = options.monotonicNow ?? (() => performance.now());
    this.deadline = options.claimedAt + options.leaseMs;
    this.margin = Math.min(1_000, options.leaseMs / 10);
  }

  /** Starts extending the lease; stop it with {@link AttemptLease.stop}. */
  start(): void {
    this.timer = setInterval(() => this.extend(), Math.max(50, Math.floor(this.options.leaseMs / 3)));
    this.timer.unref();
  }

  /** Stops extending; waits for an extension in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.extending;
  }

  /** Why the lease is gone, or undefined while it is held. */
  get lost(): string | undefined {
    if (this.lostReason === undefined && this.now() >= this.deadline) {
      this.lose('the step lease ran out before it could be extended');
    }
    return this.lostReason;
  }

  /** Throws {@link LeaseLostError} unless the lease is held for a little while longer. */
  assertHeld(): void {
    const reason = this.lost ?? (this.now() >= this.deadline - this.margin ? 'the step lease is about to run out' : undefined);
    if (reason !== undefined) throw new LeaseLostError(`Not sent: ${reason}`);
  }

  /** Marks the lease as given up by this worker (a hand-back). */
  release(reason: string): void {
    this.lose(reason);
  }

  private extend(): void {
    if (this.lost !== undefined) return;
    const sentAt = this.now();
    const { runs, stepRunId, fence, leaseMs, logger } = this.options;
    this.extending = this.extending.then(async () => {
      try {
        if (await runs.extendLease({ stepRunId, fence, leaseMs })) {
          this.deadline = Math.max(this.deadline, sentAt + leaseMs);
        } else {
          this.lose('the step was cancelled or taken over by another worker');
        }
      } catch (err) {
        // The database may be restarting: keep trying until the deadline says otherwise.
        logger.warn({ err, stepRunId }, 'could not extend step lease');
      }
    });
  }

  private lose(reason: string): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = reason;
    clearInterval(this.timer);
    this.options.onLost(reason);
  }
}
