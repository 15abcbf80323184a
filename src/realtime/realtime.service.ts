import type { Logger } from 'pino';
import { AppError, ErrorCode, type ErrorDetails } from '../domain/errors.js';
import { isInstanceStatus, isTerminalInstance } from '../domain/run-state-machine.js';
import type { BusNotification, EventBus } from '../ports/event-bus.port.js';
import type { DraftNotification, LiveStreams, WorkflowEventBatchPayload, WorkflowEventPayload } from '../ports/live-streams.port.js';
import type { RunFeedStore } from '../ports/run-feed.store.port.js';
import type { RunQueryStore } from '../ports/run-query.store.port.js';
import type { InstanceEventRecord } from '../ports/run-records.js';
import { BoundedChannel } from './bounded-channel.js';
import { encodeWorkflowCursor, type WorkflowCursor } from '../domain/workflow-cursor.js';
import { toBatch, WorkflowFeed, type FeedBatch, type FeedListener } from './workflow-feed.js';
export type KeyRevokedNotification = Extract<BusNotification, { kind: 'key-revoked' }>;

export interface RealtimeOptions {
  readonly bus: EventBus;
  /** Workflows' events in commit order. */
  readonly feed: RunFeedStore;
  /** Instances' event logs, for `instanceUpdated`. */
  readonly logs: Pick<RunQueryStore, 'listEvents'>;
  readonly logger: Logger;
  /** Events buffered per subscription before it counts as too slow and is ended. */
  readonly bufferSize: number;
  /** How often open streams re-read the log even without a notification (a notification may be lost). */
  readonly safetyPollMs: number;
  /** Least time between two reads of one workflow stream (see WorkflowFeed); 0 by default. */
  readonly minRoundMs?: number;
}

const PAGE = 500;

function tooSlow(resume: ErrorDetails): AppError {
  return new AppError(
    ErrorCode.LIMIT_EXCEEDED,
    'This subscriber fell too far behind and was stopped; subscribe again with `since` to resume',
    { reason: 'SUBSCRIBER_TOO_SLOW', ...resume },
  );
}

/**
 * Live streams over the event log, for GraphQL subscriptions. Bus notifications only wake streams;
 * every event a subscriber receives is read from Postgres by sequence number or horizon batch, so
 * a stream has no gaps and no duplicates, also across a reconnect with `since`.
 */
export class RealtimeService implements LiveStreams {
  private readonly instanceWakers = new Map<string, Set<(seq: number) => void>>();
  private readonly feeds = new Map<string, WorkflowFeed>();
  private readonly draftListeners = new Map<string, Set<(n: DraftNotification) => void>>();
  private readonly revocationListeners = new Set<(n: KeyRevokedNotification) => void>();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: RealtimeOptions) {
    this.unsubscribe = options.bus.subscribe((n) => this.dispatch(n));
  }

  /** Tells every process about committed events (call after the commit). */
  publishRunEvents(events: readonly InstanceEventRecord[]): void {
    const newest = new Map<string, InstanceEventRecord>();
    for (const e of events) {
      const seen = newest.get(e.instanceId);
      if (!seen || e.seq > seen.seq) newest.set(e.instanceId, e);
    }
    for (const e of newest.values()) {
      this.options.bus
        .publish({ kind: 'run', workspaceId: e.workspaceId, workflowId: e.workflowId, instanceId: e.instanceId, seq: e.seq, xid: e.xid })
        .catch((err: unknown) => this.options.logger.warn({ err }, 'could not publish run notification'));
    }
  }

  publishDraft(n: Omit<DraftNotification, 'kind' | 'at'>): void {
    this.options.bus
      .publish({ kind: 'draft', ...n, at: new Date().toISOString() })
      .catch((err: unknown) => this.options.logger.warn({ err }, 'could not publish draft notification'));
  }

  /**
   * Tells every process (this one included) that a key was revoked; call after the revocation
   * commits. Resolves once the notification is on its way; a failure is logged, not thrown: the
   * revocation stands, and each process's periodic re-check of its sockets' keys catches up.
   */
  async publishKeyRevoked(n: Omit<KeyRevokedNotification, 'kind'>): Promise<void> {
    try {
      await this.options.bus.publish({ kind: 'key-revoked', ...n });
    } catch (err) {
      this.options.logger.warn({ err, apiKeyId: n.apiKeyId }, 'could not publish key revocation');
    }
  }

  /** Calls `listener` for each key revoked on any process; returns the unsubscribe. */
  onKeyRevoked(listener: (n: KeyRevokedNotification) => void): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  /**
   * Events of one instance after `afterSeq`, then live; the stream ends once it has caught up with
   * a log whose newest event ends the instance (see {@link LiveStreams.instanceEvents}). The caller
   * has checked that the instance belongs to the subscriber's workspace.
   */
  instanceEvents(instanceId: string, afterSeq: number): AsyncIterableIterator<InstanceEventRecord> {
    let last = afterSeq;
    // Whether the newest event read (at first: the one at `afterSeq`, read only to know this) ends the instance.
    let ended = false;
    let known = afterSeq === 0;
    let fetching = false;
    let again = false;
    const wakers = this.instanceWakers.get(instanceId) ?? new Set();
    this.instanceWakers.set(instanceId, wakers);
    const waker = (seq: number) => {
      if (seq > last) void pump();
    };
    const timer = setInterval(() => void pump(), this.options.safetyPollMs);
    timer.unref();
    const channel = new BoundedChannel<InstanceEventRecord>(
      this.options.bufferSize,
      () => tooSlow({ resumeAfterSeq: last }),
      () => {
        clearInterval(timer);
        wakers.delete(waker);
        if (wakers.size === 0) this.instanceWakers.delete(instanceId);
      },
    );
    const pump = async (): Promise<void> => {
      if (fetching) {
        again = true;
        return;
      }
      fetching = true;
      try {
        do {
          again = false;
          for (;;) {
            const from = known ? last : last - 1;
            const page = await this.options.logs.listEvents(instanceId, { afterSeq: from, first: PAGE });
            known = true;
            for (const e of page) {
              ended = endsInstance(e);
              if (e.seq <= last) continue;
              if (!channel.push(e)) return;
              last = e.seq;
            }
            if (page.length < PAGE) break;
          }
        } while (again && channel.isOpen);
        // Caught up, and the instance is over: its last event has been queued, so the stream ends
        // after it (graphql-ws sends `complete`). A FAILED instance retried later is a new stretch
        // of the log, read by subscribing again with `since`.
        if (ended) channel.end();
      } catch (err) {
        channel.fail(err);
      } finally {
        fetching = false;
      }
    };
    wakers.add(waker);
    void pump();
    return channel;
  }

  /**
   * Every event of every instance of a workflow, one at a time: from `since` when given
   * (replaying what is stored), otherwise from now; then live.
   */
  workflowEvents(workspaceId: string, workflowId: string, since?: WorkflowCursor): AsyncIterableIterator<WorkflowEventPayload> {
    return flatten(this.workflowEventBatches(workspaceId, workflowId, since));
  }

  /**
   * The same stream in batches: each item holds the events read together (a horizon batch, or a
   * page of one), so a busy workflow costs a subscriber one message per batch, not per event.
   */
  workflowEventBatches(workspaceId: string, workflowId: string, since?: WorkflowCursor): AsyncIterableIterator<WorkflowEventBatchPayload> {
    const key = `${workspaceId}:${workflowId}`;
    let feed = this.feeds.get(key);
    if (!feed) {
      feed = new WorkflowFeed({
        workspaceId,
        workflowId,
        runs: this.options.feed,
        logger: this.options.logger,
        safetyPollMs: this.options.safetyPollMs,
        minRoundMs: this.options.minRoundMs ?? 0,
      });
      this.feeds.set(key, feed);
    }
    const theFeed = feed;
    let lastCursor: string | undefined = since ? encodeWorkflowCursor(since) : undefined;
    // Events below this horizon were replayed by the catch-up; the feed's copies are dropped.
    let floor = 0n;
    let catchingUp = true;
    const held: FeedBatch[] = [];
    let heldEvents = 0;

    const channel = new BoundedChannel<WorkflowEventBatchPayload>(
      this.options.bufferSize,
      () => tooSlow(lastCursor ? { resumeFrom: lastCursor } : {}),
      () => {
        theFeed.remove(listener);
        if (theFeed.size === 0) {
          theFeed.dispose();
          this.feeds.delete(key);
        }
      },
      (batch) => batch.events.length,
    );
    const push = (payload: WorkflowEventBatchPayload): boolean => {
      if (!channel.push(payload)) return false;
      lastCursor = payload.cursor;
      return true;
    };
    const forward = (b: FeedBatch): void => {
      if (b.lo >= floor) {
        push(b.shared);
        return;
      }
      const events = b.events.filter((e) => BigInt(e.xid) >= floor);
      if (events.length > 0) push(toBatch(floor, b.hi, events).shared);
    };
    const listener: FeedListener = {
      deliver: (b) => {
        if (!catchingUp) return forward(b);
        heldEvents += b.events.length;
        if (heldEvents > this.options.bufferSize) return channel.fail(tooSlow(lastCursor ? { resumeFrom: lastCursor } : {}));
        held.push(b);
      },
    };
    theFeed.add(listener);

    const replay = async (lo: bigint, hi: bigint, after: number): Promise<boolean> => {
      let cursor = after;
      for (;;) {
        const page = await this.options.feed.workflowEvents({ workspaceId, workflowId, fromPosition: lo, toPosition: hi, afterCursor: cursor, limit: PAGE });
        if (page.length > 0) {
          if (!push(toBatch(lo, hi, page).shared)) return false;
          cursor = page[page.length - 1]!.cursor;
        }
        if (page.length < PAGE) return true;
      }
    };

    void (async () => {
      try {
        await theFeed.ready;
        if (since) {
          if (since.hi > since.lo && !(await replay(since.lo, since.hi, since.after))) return;
          const horizon = await this.options.feed.horizon();
          if (horizon > since.hi && !(await replay(since.hi, horizon, 0))) return;
          floor = horizon > since.hi ? horizon : since.hi;
        } else {
          floor = theFeed.position;
        }
        catchingUp = false;
        for (const b of held.splice(0)) forward(b);
      } catch (err) {
        channel.fail(err);
      }
    })();
    return channel;
  }

  /** Draft changes of one workflow, live; the stream ends after the workflow's deletion (nothing can follow it). */
  draftChanges(workspaceId: string, workflowId: string): AsyncIterableIterator<DraftNotification> {
    const key = `${workspaceId}:${workflowId}`;
    const set = this.draftListeners.get(key) ?? new Set();
    this.draftListeners.set(key, set);
    const listener = (n: DraftNotification) => {
      channel.push(n);
      if (n.change === 'DELETE') channel.end();
    };
    const channel = new BoundedChannel<DraftNotification>(
      this.options.bufferSize,
      () => tooSlow({}),
      () => {
        set.delete(listener);
        if (set.size === 0) this.draftListeners.delete(key);
      },
    );
    set.add(listener);
    return channel;
  }

  close(): void {
    this.unsubscribe();
    for (const feed of this.feeds.values()) feed.dispose();
    this.feeds.clear();
  }

  private dispatch(n: BusNotification): void {
    if (n.kind === 'run') {
      for (const wake of this.instanceWakers.get(n.instanceId) ?? []) wake(n.seq);
      this.feeds.get(`${n.workspaceId}:${n.workflowId}`)?.notify(BigInt(n.xid));
    } else if (n.kind === 'draft') {
      for (const listener of this.draftListeners.get(`${n.workspaceId}:${n.workflowId}`) ?? []) listener(n);
    } else if (n.kind === 'key-revoked') {
      for (const listener of this.revocationListeners) listener(n);
    }
  }
}

/** Whether an event is the instance reaching a terminal status (the last event it writes, unless retried). */
const endsInstance = (e: InstanceEventRecord): boolean =>
  e.entity === 'INSTANCE' && isInstanceStatus(e.toStatus) && isTerminalInstance(e.toStatus);

/** The items of a stream of batches, one by one; ending either ends the other. */
function flatten<T>(batches: AsyncIterableIterator<{ readonly events: readonly T[] }>): AsyncIterableIterator<T> {
  let current: readonly T[] = [];
  let index = 0;
  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      while (index >= current.length) {
        const next = await batches.next();
        if (next.done) return { value: undefined, done: true };
        current = next.value.events;
        index = 0;
      }
      return { value: current[index++]!, done: false };
    },
    async return(): Promise<IteratorResult<T>> {
      current = [];
      await batches.return?.();
      return { value: undefined, done: true };
    },
    async throw(err: unknown): Promise<IteratorResult<T>> {
      current = [];
      await batches.throw?.(err);
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
