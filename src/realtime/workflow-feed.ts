import type { Logger } from 'pino';
import type { WorkflowEventBatchPayload } from '../ports/live-streams.port.js';
import type { RunFeedStore } from '../ports/run-feed.store.port.js';
import type { InstanceEventRecord } from '../ports/run-records.js';
import { encodeWorkflowCursor } from '../domain/workflow-cursor.js';

/** One delivery of a feed: the events of (a page of) the horizon batch [lo, hi). */
export interface FeedBatch {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly events: readonly InstanceEventRecord[];
  /**
   * The payload for subscribers that were live before this batch; one object (holding one object
   * per event) shared by all of them, so the GraphQL layer can execute a selection once per batch
   * or event instead of once per socket.
   */
  readonly shared: WorkflowEventBatchPayload;
}

/** A reader of a feed. */
export interface FeedListener {
  deliver(batch: FeedBatch): void;
}

const PAGE = 1000;
/** Under load a transaction is often still running below a notified one: look again soon. */
const MAX_BACKOFF_MS = 20;

/**
 * The live stream of one workflow's events in this process, shared by every subscriber to it.
 * It reads the log in horizon batches: all events of transactions with ids in [W, horizon), where
 * the horizon is the oldest running transaction, so a batch is complete the moment it is read and
 * a late-committing transaction can never slip in behind a subscriber. Woken by bus notifications,
 * it polls slowly as well, in case a notification was lost.
 */
export class WorkflowFeed {
  private watermark = 0n;
  private readonly listeners = new Set<FeedListener>();
  private highestNotified = 0n;
  private polling = false;
  private again = false;
  private lastRoundAt = Number.NEGATIVE_INFINITY;
  private backoffMs = 5;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly safetyTimer: NodeJS.Timeout;
  readonly ready: Promise<void>;

  constructor(
    private readonly options: {
      readonly workspaceId: string;
      readonly workflowId: string;
      readonly runs: RunFeedStore;
      readonly logger: Logger;
      readonly safetyPollMs: number;
      /**
       * Least time between the starts of two reads: while events keep coming, those of this
       * interval go out together, so sending to many sockets cannot take the whole event loop.
       */
      readonly minRoundMs: number;
    },
  ) {
    this.ready = options.runs.horizon().then((h) => {
      this.watermark = h;
    });
    this.safetyTimer = setInterval(() => this.wake(), options.safetyPollMs);
    this.safetyTimer.unref();
  }

  /** The horizon up to which this feed has delivered everything. */
  get position(): bigint {
    return this.watermark;
  }

  get size(): number {
    return this.listeners.size;
  }

  add(listener: FeedListener): void {
    this.listeners.add(listener);
  }

  remove(listener: FeedListener): void {
    this.listeners.delete(listener);
  }

  /** A transaction wrote events of this workflow. */
  notify(xid: bigint): void {
    if (xid > this.highestNotified) this.highestNotified = xid;
    this.wake();
  }

  dispose(): void {
    clearInterval(this.safetyTimer);
    clearTimeout(this.retryTimer);
    this.listeners.clear();
  }

  private wake(): void {
    if (this.polling) {
      this.again = true;
      return;
    }
    void this.poll();
  }

  private async poll(): Promise<void> {
    this.polling = true;
    try {
      await this.ready;
      do {
        this.again = false;
        const wait = this.lastRoundAt + this.options.minRoundMs - performance.now();
        if (wait > 0) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          if (this.listeners.size === 0) break;
        }
        const startedAt = performance.now();
        // Only a read that sent something counts: an empty one costs next to nothing.
        if (await this.readUpToHorizon()) this.lastRoundAt = startedAt;
      } while (this.again && this.listeners.size > 0);
    } catch (err) {
      this.options.logger.warn({ err, workflowId: this.options.workflowId }, 'workflow feed could not read events');
    } finally {
      this.polling = false;
    }
    // A notified transaction is not below the horizon yet (an older one is still running): look again soon.
    if (this.highestNotified >= this.watermark && this.listeners.size > 0) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.wake(), this.backoffMs);
      this.retryTimer.unref();
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    } else {
      this.backoffMs = 5;
    }
  }

  /** Delivers the events below the horizon; whether there were any. */
  private async readUpToHorizon(): Promise<boolean> {
    const { runs, workspaceId, workflowId } = this.options;
    const lo = this.watermark;
    const first = await runs.workflowEventsToHorizon({ workspaceId, workflowId, fromPosition: lo, limit: PAGE });
    const horizon = first.horizon;
    if (horizon <= lo) return false;
    let page = first.events;
    const delivered = page.length > 0;
    for (;;) {
      if (page.length > 0) {
        const batch = toBatch(lo, horizon, page);
        for (const listener of this.listeners) listener.deliver(batch);
      }
      if (page.length < PAGE) break;
      const after = page[page.length - 1]!.cursor;
      page = await runs.workflowEvents({ workspaceId, workflowId, fromPosition: lo, toPosition: horizon, afterCursor: after, limit: PAGE });
    }
    this.watermark = horizon;
    return delivered;
  }
}

/** Payloads for `events`, read from the horizon batch [lo, hi). */
export function toBatch(lo: bigint, hi: bigint, events: readonly InstanceEventRecord[]): FeedBatch {
  const payloads = events.map((event) => ({ event, cursor: encodeWorkflowCursor({ lo, hi, after: event.cursor }) }));
  return { lo, hi, events, shared: { events: payloads, cursor: payloads[payloads.length - 1]!.cursor } };
}
