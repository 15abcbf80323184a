import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import type { RunFeedStore } from '../../../src/ports/run-feed.store.port.js';
import type { RunQueryStore } from '../../../src/ports/run-query.store.port.js';
import type { InstanceEventRecord } from '../../../src/ports/run-records.js';
import { InProcessEventBus } from '../../../src/realtime/in-process-event-bus.js';
import { RealtimeService } from '../../../src/realtime/realtime.service.js';
import { BEGINNING, decodeWorkflowCursor } from '../../../src/domain/workflow-cursor.js';
import type { WorkflowEventBatchPayload } from '../../../src/ports/live-streams.port.js';

/**
 * An event log in memory with the store's reading semantics: per-instance seq, global cursor, and
 * transaction ids below a movable horizon (the oldest transaction still running).
 */
class FakeLog {
  readonly events: InstanceEventRecord[] = [];
  horizon = 100n;
  private cursor = 0;

  append(instanceId: string, xid: bigint, count = 1, as: Partial<Pick<InstanceEventRecord, 'entity' | 'event' | 'toStatus'>> = {}): InstanceEventRecord[] {
    const made: InstanceEventRecord[] = [];
    for (let i = 0; i < count; i++) {
      const seq = this.events.filter((e) => e.instanceId === instanceId).length + 1;
      const e: InstanceEventRecord = {
        instanceId,
        seq,
        cursor: ++this.cursor,
        workspaceId: 'ws',
        workflowId: 'wf',
        entity: 'STEP',
        stepId: 's',
        stepRunId: null,
        event: 'start',
        fromStatus: 'SCHEDULED',
        toStatus: 'RUNNING',
        attempt: 1,
        detail: null,
        at: new Date(),
        xid: xid.toString(),
        ...as,
      };
      this.events.push(e);
      made.push(e);
    }
    return made;
  }

  feed(): RunFeedStore {
    const workflowEvents: RunFeedStore['workflowEvents'] = async (q) =>
      this.events
        .filter((e) => BigInt(e.xid) >= q.fromPosition && BigInt(e.xid) < q.toPosition && e.cursor > q.afterCursor)
        .sort((a, b) => a.cursor - b.cursor)
        .slice(0, q.limit);
    return {
      workflowEvents,
      horizon: async () => this.horizon,
      workflowEventsToHorizon: async (q) => {
        const horizon = this.horizon;
        return { horizon, events: await workflowEvents({ ...q, toPosition: horizon, afterCursor: 0 }) };
      },
    };
  }

  logs(): Pick<RunQueryStore, 'listEvents'> {
    return {
      listEvents: async (instanceId, page) =>
        this.events.filter((e) => e.instanceId === instanceId && e.seq > page.afterSeq).slice(0, page.first),
    };
  }
}

const logger = pino({ level: 'silent' });
const services: RealtimeService[] = [];
function makeService(log: FakeLog, bufferSize = 100, minRoundMs = 0) {
  const bus = new InProcessEventBus();
  const service = new RealtimeService({ bus, feed: log.feed(), logs: log.logs(), logger, bufferSize, safetyPollMs: 20, minRoundMs });
  services.push(service);
  return { service, bus };
}
afterEach(() => {
  for (const s of services.splice(0)) s.close();
});

async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const next = await it.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describe('instance streams', () => {
  test('replay after `since`, then live events, in order, even when notifications are lost', async () => {
    const log = new FakeLog();
    const { service } = makeService(log);
    log.append('i1', 10n, 3);
    const stream = service.instanceEvents('i1', 1);
    expect((await take(stream, 2)).map((e) => e.seq)).toEqual([2, 3]);
    log.append('i1', 11n, 2); // no bus notification at all: the safety poll must find them
    expect((await take(stream, 2)).map((e) => e.seq)).toEqual([4, 5]);
    await stream.return!();
  });

  test('a subscriber that does not keep up is stopped with SUBSCRIBER_TOO_SLOW and where to resume', async () => {
    const log = new FakeLog();
    const { service } = makeService(log, 5);
    log.append('i1', 10n, 20);
    const stream = service.instanceEvents('i1', 0);
    await new Promise((r) => setTimeout(r, 50));
    const err = await stream.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { reason: 'SUBSCRIBER_TOO_SLOW' } });
    expect((err as { details: { resumeAfterSeq: number } }).details.resumeAfterSeq).toBeLessThan(20);
  });
});

/** Everything a stream yields until it ends. */
async function drain<T>(it: AsyncIterator<T>): Promise<T[]> {
  const out: T[] = [];
  for (let next = await it.next(); !next.done; next = await it.next()) out.push(next.value);
  return out;
}

const instanceEnd = (toStatus: string, event: string) => ({ entity: 'INSTANCE' as const, event, toStatus });

describe('the end of an instance stream', () => {
  test.each([
    ['COMPLETED', 'complete'],
    ['FAILED', 'fail'],
    ['CANCELLED', 'cancel'],
  ])('ends after the %s event that arrives live', async (status, event) => {
    const log = new FakeLog();
    const { service, bus } = makeService(log);
    log.append('i1', 10n, 2);
    log.append('i1', 10n, 1, { entity: 'INSTANCE', event: 'wait', toStatus: 'WAITING' });
    const stream = service.instanceEvents('i1', 0);
    expect((await take(stream, 3)).map((e) => e.seq)).toEqual([1, 2, 3]);
    log.append('i1', 11n, 1, { event: 'resume' });
    const [last] = log.append('i1', 11n, 1, instanceEnd(status, event));
    await bus.publish({ kind: 'run', workspaceId: 'ws', workflowId: 'wf', instanceId: 'i1', seq: last!.seq, xid: '11' });
    expect((await drain(stream)).map((e) => [e.seq, e.toStatus])).toEqual([
      [4, 'RUNNING'],
      [5, status],
    ]);
  });

  test('a stream of an instance that has ended replays what follows `since`, then ends; from its last event it ends at once', async () => {
    const log = new FakeLog();
    const { service } = makeService(log);
    log.append('i1', 10n, 3);
    log.append('i1', 10n, 1, instanceEnd('COMPLETED', 'complete'));
    expect((await drain(service.instanceEvents('i1', 1))).map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(await drain(service.instanceEvents('i1', 4))).toEqual([]);
  });

  test('a FAILED instance retried afterwards goes on: the stream ends only at the end of the log', async () => {
    const log = new FakeLog();
    const { service } = makeService(log);
    log.append('i1', 10n, 1);
    log.append('i1', 10n, 1, instanceEnd('FAILED', 'fail'));
    log.append('i1', 11n, 1, { entity: 'INSTANCE', event: 'retry', toStatus: 'RUNNING' });
    log.append('i1', 11n, 1);
    const stream = service.instanceEvents('i1', 0);
    expect((await take(stream, 4)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    // Not ended at the failure: a later event still arrives (found by the safety poll).
    log.append('i1', 12n, 1, instanceEnd('COMPLETED', 'complete'));
    expect((await drain(stream)).map((e) => e.seq)).toEqual([5]);
    // From the failure on, after the retry: the rest, then the end.
    expect((await drain(service.instanceEvents('i1', 2))).map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  test('a stream of a waiting instance does not end', async () => {
    const log = new FakeLog();
    const { service } = makeService(log);
    log.append('i1', 10n, 1, { entity: 'INSTANCE', event: 'wait', toStatus: 'WAITING' });
    log.append('i1', 10n, 1, { event: 'wait', toStatus: 'SCHEDULED' });
    const stream = service.instanceEvents('i1', 2);
    // Whatever comes next is the next event, not the end: the stream is still open.
    const next = stream.next();
    log.append('i1', 11n, 1, { event: 'resume' });
    expect(await next).toMatchObject({ done: false, value: { seq: 3 } });
    await stream.return!();
  });
});

describe('workflow streams', () => {
  test('an event whose transaction commits late (below a running one) is delivered, once, when the horizon passes it', async () => {
    const log = new FakeLog();
    const { service, bus } = makeService(log);
    const stream = service.workflowEvents('ws', 'wf');
    await new Promise((r) => setTimeout(r, 30));
    // Transaction 105 commits first while 101 is still running: the horizon stays at 101.
    log.horizon = 101n;
    const late = log.append('b', 105n);
    await bus.publish({ kind: 'run', workspaceId: 'ws', workflowId: 'wf', instanceId: 'b', seq: 1, xid: '105' });
    await new Promise((r) => setTimeout(r, 60));
    // Transaction 101 commits later, with a higher cursor but an older transaction id.
    log.append('a', 101n);
    log.horizon = 200n;
    await bus.publish({ kind: 'run', workspaceId: 'ws', workflowId: 'wf', instanceId: 'a', seq: 1, xid: '101' });
    const got = await take(stream, 2);
    expect(got.map((p) => `${p.event.instanceId}#${p.event.seq}`).sort()).toEqual(['a#1', 'b#1']);
    expect(late).toHaveLength(1);
    // Nothing was delivered twice while the horizon lagged.
    await new Promise((r) => setTimeout(r, 60));
    log.append('c', 250n);
    log.horizon = 300n;
    await bus.publish({ kind: 'run', workspaceId: 'ws', workflowId: 'wf', instanceId: 'c', seq: 1, xid: '250' });
    expect((await take(stream, 1)).map((p) => p.event.instanceId)).toEqual(['c']);
    await stream.return!();
  });

  test('while events keep coming a stream reads at most once per round interval, so they go out together; after a quiet spell at once', async () => {
    const log = new FakeLog();
    // Safety polls every 20 ms would read on their own; the interval holds them back too.
    const { service, bus } = makeService(log, 100, 200);
    const stream = service.workflowEventBatches('ws', 'wf');
    await new Promise((r) => setTimeout(r, 30));
    const publish = async (instanceId: string, xid: bigint) => {
      log.append(instanceId, xid);
      log.horizon = xid + 1n;
      await bus.publish({ kind: 'run', workspaceId: 'ws', workflowId: 'wf', instanceId, seq: 1, xid: String(xid) });
    };
    // Quiet until now: the first event goes out in its own round, at once.
    const t0 = performance.now();
    await publish('a', 110n);
    const first = (await stream.next()).value as WorkflowEventBatchPayload;
    expect(performance.now() - t0).toBeLessThan(150);
    expect(first.events.map((p) => p.event.instanceId)).toEqual(['a']);
    // Three more, 10 ms apart, right after that round: one read, one batch, no sooner than the interval.
    for (const [id, xid] of [['b', 111n], ['c', 112n], ['d', 113n]] as const) {
      await publish(id, xid);
      await new Promise((r) => setTimeout(r, 10));
    }
    const second = (await stream.next()).value as WorkflowEventBatchPayload;
    expect(second.events.map((p) => p.event.instanceId)).toEqual(['b', 'c', 'd']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    await stream.return!();
  });

  test('resuming from any delivered cursor yields exactly the events after it', async () => {
    const log = new FakeLog();
    log.horizon = 50n;
    log.append('a', 10n, 3);
    log.append('b', 20n, 2);
    log.append('c', 30n, 4);
    const { service } = makeService(log);
    const all = await take(service.workflowEvents('ws', 'wf', BEGINNING), 9);
    const keys = all.map((p) => `${p.event.instanceId}#${p.event.seq}`);
    expect(new Set(keys).size).toBe(9);
    for (let i = 0; i < all.length; i++) {
      const rest = await take(service.workflowEvents('ws', 'wf', decodeWorkflowCursor(all[i]!.cursor)), 9 - i - 1);
      expect(rest.map((p) => `${p.event.instanceId}#${p.event.seq}`)).toEqual(keys.slice(i + 1));
    }
  });

  test('a cursor that is not ours is refused as bad input', () => {
    expect(() => decodeWorkflowCursor('bm90LWEtY3Vyc29y')).toThrow(/since is not a cursor/);
  });
});

describe('draft streams', () => {
  const draft = (workflowId: string, change: 'EDIT' | 'ARCHIVE' | 'DELETE', draftRevision: number) => ({
    workspaceId: 'ws',
    workflowId,
    draftRevision,
    change,
    label: change,
    actorKeyId: 'key',
  });

  test("end after the workflow's DELETE: nothing can follow it; an ARCHIVE leaves them open", async () => {
    const { service } = makeService(new FakeLog());
    const deleted = service.draftChanges('ws', 'wf');
    const other = service.draftChanges('ws', 'other');
    service.publishDraft(draft('wf', 'EDIT', 1));
    service.publishDraft(draft('other', 'ARCHIVE', 3));
    service.publishDraft(draft('wf', 'DELETE', 1));
    service.publishDraft(draft('wf', 'EDIT', 2)); // cannot happen; and if it did, the stream has ended
    expect((await drain(deleted)).map((n) => n.change)).toEqual(['EDIT', 'DELETE']);
    expect((await take(other, 1)).map((n) => n.change)).toEqual(['ARCHIVE']);
    await other.return!();
  });
});
