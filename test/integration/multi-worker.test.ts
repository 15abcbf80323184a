import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callFigures, delayFigures, groupCalls, ranWhileWaiting, workerLostEvents } from '../chaos/figures.js';
import { committedCall, workerNamesOf } from '../chaos/fault-figures.js';
import { callStep, chaosServerUrl, closeAllRigs, openRig, type Rig } from '../chaos/workload.js';
import { expectedKey, gate, type ReceivedCall } from '../support/call-receiver.js';
import type { EventRow } from '../support/run-reader.js';
import { buildServer } from '../support/server-process.js';

/**
 * Step execution with one API process and two worker processes on real Postgres, judged from
 * outside: a local receiver counts the calls per instance and step (and which worker sent each),
 * and read-only queries of the run tables give the outcome. Short leases and a one-second sweep
 * keep recoveries, where a test needs them, within seconds.
 */
const SETTINGS = { STEP_LEASE_MS: '3000', SWEEP_INTERVAL_MS: '1000' } as const;
const INSTANCES = 40;

/** `what: count/total [first few]`, for assertion messages. */
const tally = (what: string, items: readonly string[], total: number) => `${what}: ${items.length}/${total} ${JSON.stringify(items.slice(0, 5))}`;

/** Each step's events as `step:event@ms` lines per instance, for a failure message. */
const story = (events: readonly EventRow[], instanceIds: readonly string[]) =>
  instanceIds
    .slice(0, 3)
    .map((id) => {
      const own = events.filter((e) => e.instanceId === id);
      const t0 = own[0]?.at ?? 0;
      return `${id}: ${own.map((e) => `${e.stepId ?? 'instance'}:${e.event}@${e.at - t0}`).join(' ')}`;
    })
    .join('\n');

// Several processes cannot share the embedded database (its directory is locked to one process).
describe.skipIf(!chaosServerUrl())('one API and two workers (real Postgres only: worker processes cannot share the embedded database)', () => {
  beforeAll(() => buildServer());
  afterAll(() => closeAllRigs(), 60_000);

  describe('with no fault at all, two workers run every step as one would', () => {
    let rig: Rig;
    beforeAll(async () => {
      rig = await openRig({ env: { ...SETTINGS }, workers: 2 });
    }, 90_000);
    afterAll(() => rig?.close(), 60_000);

    const run = async (name: string, steps: Parameters<Rig['deployment']['publishChain']>[1], inputs = Array.from({ length: INSTANCES }, () => ({}))) => {
      rig.receiver.calls.length = 0;
      const workflowId = await rig.deployment.publishChain(name, steps);
      const ids = await rig.deployment.startInstances(workflowId, inputs);
      const end = await rig.reader.waitForEnded(workflowId, ids.length, 40_000);
      const events = await rig.reader.events(workflowId);
      return { workflowId, ids, end, events, calls: [...rig.receiver.calls] };
    };

    test('trigger → delay 3 s → sms: every delay resumes within a second of its due time, and no worker is reported lost', { timeout: 90_000 }, async () => {
      const { ids, end, events } = await run('delay then sms', [
        { id: 't', type: 'trigger.manual' },
        { id: 'wait', type: 'delay', config: { duration: { amount: 3, unit: 'seconds' } } },
        { id: 'sms', type: 'sms.send', config: { to: '+15550100', text: 'hi' } },
      ]);
      const delays = delayFigures(events, 'wait');
      const late = [...new Set(events.filter((e) => e.event === 'lose').map((e) => e.instanceId))];
      expect(end.counts, story(events, late)).toEqual({ COMPLETED: INSTANCES });
      expect({ lateOver1s: delays.lateOver1s, notResumed: delays.notResumed, maxMs: delays.latenessMaxMs }, story(events, late)).toMatchObject({ lateOver1s: 0, notResumed: 0 });
      expect(workerLostEvents(events), story(events, late)).toBe(0);
      expect(delays.delays).toBe(ids.length);
    });

    test('trigger → delay until a time just ahead → http → sms: no instance runs a later step while it is WAITING, and all complete', { timeout: 90_000 }, async () => {
      const until = new Date(Date.now() + 6_000).toISOString();
      const { ids, end, events } = await run('delay until then http', [
        { id: 't', type: 'trigger.manual' },
        { id: 'wait', type: 'delay', config: { until } },
        callStep(rig.receiver.url, 'call'),
        { id: 'sms', type: 'sms.send', config: { to: '+15550100', text: 'hi' } },
      ]);
      const offenders = ranWhileWaiting(events);
      expect(offenders, `${tally('ran a later step while WAITING', offenders, ids.length)}\n${story(events, offenders)}`).toEqual([]);
      expect(end.counts, story(events, offenders)).toEqual({ COMPLETED: INSTANCES });
      expect(workerLostEvents(events)).toBe(0);
    });

    test('trigger → delay until a time just ahead → http as the last step: each instance\'s call is received exactly once', { timeout: 90_000 }, async () => {
      const until = new Date(Date.now() + 6_000).toISOString();
      const { ids, end, events, calls } = await run('delay then http last', [
        { id: 't', type: 'trigger.manual' },
        { id: 'wait', type: 'delay', config: { until } },
        callStep(rig.receiver.url, 'call'),
      ]);
      const twice = [...groupCalls(calls)].filter(([, sends]) => sends.length > 1).map(([key]) => key);
      expect(twice, `${tally('sent more than once', twice, ids.length)}\n${story(events, twice.map((k) => k.split(':')[0]!))}`).toEqual([]);
      expect(callFigures(calls).stepsCalled).toBe(ids.length);
      expect(end.counts).toEqual({ COMPLETED: INSTANCES });
    });

    test('a step that fails once (500, then 200) with a retry 1 s later: each retry starts within a second of its planned time', { timeout: 90_000 }, async () => {
      const failed = new Set<string>();
      rig.receiver.respond = (call) => {
        if (failed.has(expectedKey(call))) return {};
        failed.add(expectedKey(call));
        return { status: 500, body: '{"error":"try again"}' };
      };
      try {
        const { ids, end, events } = await run('fail once then retry', [
          { id: 't', type: 'trigger.manual' },
          callStep(rig.receiver.url, 'call', { retry: { maxAttempts: 3, initialDelayMs: 1_000, multiplier: 1, jitter: 0 } }),
          { id: 'sms', type: 'sms.send', config: { to: '+15550100', text: 'hi' } },
        ]);
        const late: string[] = [];
        for (const id of ids) {
          const own = events.filter((e) => e.instanceId === id && e.stepId === 'call');
          const retry = own.find((e) => e.event === 'retry');
          const next = retry && own.find((e) => e.seq > retry.seq && e.event === 'start');
          const lateness = retry && next ? next.at - Date.parse(String(retry.detail?.retryAt)) : Number.POSITIVE_INFINITY;
          if (!(lateness <= 1_000)) late.push(`${id} ${Number.isFinite(lateness) ? `${lateness} ms` : 'never retried'}`);
        }
        expect(late, tally('retries that started more than 1 s after their retryAt', late, ids.length)).toEqual([]);
        expect(end.counts).toEqual({ COMPLETED: INSTANCES });
      } finally {
        rig.receiver.respond = () => ({});
      }
    });

    test('an HTTP response with a NUL byte, or with invalid UTF-8, is stored: the step succeeds, the endpoint gets one call, no worker is reported lost', { timeout: 90_000 }, async () => {
      const answers: Record<string, { body: string | Buffer; contentType: string }> = {
        'json-escape': { body: '{"text":"a\\u0000b"}', contentType: 'application/json' },
        'raw-nul': { body: Buffer.from('a\u0000b', 'utf8'), contentType: 'text/plain' },
        'invalid-utf8': { body: Buffer.from([0x61, 0xff, 0xfe, 0x62]), contentType: 'text/plain; charset=utf-8' },
      };
      rig.receiver.respond = (call) => answers[new URL(call.path, 'http://x').searchParams.get('kind') ?? ''] ?? {};
      try {
        const kinds = Object.keys(answers);
        const step = callStep(rig.receiver.url, 'call');
        const { workflowId, ids, events, calls } = await run('odd response bytes', [
          { id: 't', type: 'trigger.manual' },
          { ...step, config: { ...step.config, url: `${String(step.config!.url)}?kind={{trigger.kind}}` } },
          { id: 'sms', type: 'sms.send', config: { to: '+15550100', text: 'hi' } },
        ], kinds.map((kind) => ({ kind })));
        const runs = await rig.reader.stepRuns(workflowId);
        const outcome = kinds.map((kind, i) => ({
          kind,
          call: runs.find((r) => r.instanceId === ids[i] && r.stepId === 'call')?.status,
          calls: calls.filter((c) => c.instanceId === ids[i]).length,
          lost: events.filter((e) => e.instanceId === ids[i] && e.event === 'lose').length,
        }));
        expect(outcome, story(events, ids)).toEqual(kinds.map((kind) => ({ kind, call: 'SUCCEEDED', calls: 1, lost: 0 })));
      } finally {
        rig.receiver.respond = () => ({});
      }
    });
  });

  test('a worker paused (SIGSTOP) past its lease, then resumed, neither sends, commits nor starts anything for the steps taken from it', { timeout: 120_000 }, async () => {
    const rig = await openRig({ env: { ...SETTINGS }, workers: 1 });
    try {
      const [paused] = rig.deployment.workers;
      const forPaused = gate();
      const forOther = gate();
      rig.receiver.respond = (call) => ({ until: call.sender === paused!.name ? forPaused.opened : forOther.opened });
      // Rendering these headers takes the worker most of a second between committing the step's
      // start and sending its call: long enough to be sure to stop it in between.
      const slowHeaders = Object.fromEntries(
        Array.from({ length: 40 }, (_, i) => [`x-slow-${i}`, '{% for i in (1..300) %}{% for j in (1..300) %}{% endfor %}{% endfor %}x']),
      );
      const workflowId = await rig.deployment.publishChain('paused worker', [
        { id: 't', type: 'trigger.manual' },
        // Held answers must not time out meanwhile: a timeout is an outcome too.
        callStep(rig.receiver.url, 'call', { headers: slowHeaders, timeoutMs: 60_000 }),
        { id: 'sms', type: 'sms.send', config: { to: '+15550100', text: 'hi' } },
      ]);
      // A: its call sent and held by the receiver. B: started, its call not sent yet.
      const [a] = await rig.deployment.startInstances(workflowId, [{}]);
      await rig.receiver.waitFor((calls) => calls.some((c) => c.instanceId === a), { timeoutMs: 20_000, what: "A's call" });
      const [b] = await rig.deployment.startInstances(workflowId, [{}]);
      const started = await rig.reader.until(async () => {
        const [row] = await rig.deployment.sql<{ n: number }[]>`
          select count(*)::int as n from instance_events where instance_id = ${b!} and step_id = 'call' and event = 'start'`;
        return row!.n > 0;
      }, 20_000, 10);
      paused!.pause();
      expect(started, "B's step never started").toBe(true);
      expect(rig.receiver.calls.filter((c) => c.instanceId === b), 'B was sent before the pause: the scenario was not reached').toEqual([]);

      const other = await rig.deployment.addWorker();
      await rig.receiver.waitFor((calls) => [a, b].every((id) => calls.some((c) => c.instanceId === id && c.sender === other.name)), {
        timeoutMs: 40_000,
        what: `${other.name} to take over and send both calls`,
      });
      const pausedNames = workerNamesOf({ calls: rig.receiver.calls, events: await rig.reader.events(workflowId), sender: paused!.name });
      const sentBefore = new Set(rig.receiver.calls.map(expectedKey));

      paused!.resume();
      const resumedAt = paused!.resumedAt!;
      expect(await rig.reader.until(() => paused!.responsive(), 10_000), `${paused!.name} did not answer after SIGCONT`).toBe(true);
      forPaused.open();
      // What the resumed worker does happens within its first moments; rendering B's headers
      // again takes it under a second. Stop watching at the first stale send, or after 3 s.
      const isStale = (c: ReceivedCall) => c.at >= resumedAt && c.sender === paused!.name && sentBefore.has(expectedKey(c));
      await rig.receiver.waitFor((calls) => calls.some(isStale), { timeoutMs: 3_000, what: 'a stale send' }).catch(() => undefined);
      const otherReleasedAt = Date.now();
      forOther.open();
      const end = await rig.reader.waitForEnded(workflowId, 2, 30_000);

      const events = await rig.reader.events(workflowId);
      const runs = await rig.reader.stepRuns(workflowId);
      const name = (id: string) => (id === a ? 'A' : 'B');
      const why = `\n${story(events, [a!, b!])}`;
      const stale = rig.receiver.calls.filter(isStale);
      expect.soft(stale.map((c) => `${name(c.instanceId!)} call #${c.seq}`), `calls the resumed worker sent for steps already sent${why}`).toEqual([]);
      // The other worker's answers were held until otherReleasedAt: an outcome of these steps
      // committed between the resume and then can only come from the resumed worker.
      const outcomesFromPaused = events.filter(
        (e) => e.stepId === 'call' && ['succeed', 'fail', 'retry'].includes(e.event) && e.at >= resumedAt && e.at < otherReleasedAt,
      );
      expect.soft(outcomesFromPaused.map((e) => `${name(e.instanceId)}:${e.event}`), `outcomes committed by the resumed worker${why}`).toEqual([]);
      const committedFromPaused = runs
        .filter((r) => r.stepId === 'call')
        .filter((r) => rig.receiver.calls.find((c) => c.seq === committedCall(r))?.sender === paused!.name)
        .map((r) => name(r.instanceId));
      expect.soft(committedFromPaused, `steps whose stored answer is one the resumed worker got${why}`).toEqual([]);
      const startsAfter = events.filter(
        (e) => e.event === 'start' && e.at >= resumedAt && (pausedNames.size ? pausedNames.has(String(e.detail?.worker)) : e.stepId === 'call'),
      );
      expect.soft(startsAfter.map((e) => `${name(e.instanceId)}:${e.stepId}`), `starts by the resumed worker${why}`).toEqual([]);
      expect.soft(end.counts, `how the two instances ended${why}`).toEqual({ COMPLETED: 2 });
    } finally {
      await rig.close();
    }
  });

  test('SIGTERM of a worker running steps longer than the grace: it exits 0 within the grace, and the other worker restarts them at once, not after the lease', { timeout: 120_000 }, async () => {
    const graceMs = 3_000;
    // A lease far longer than the grace: a restart within seconds of the exit was a hand-back.
    const rig = await openRig({ env: { ...SETTINGS, STEP_LEASE_MS: '15000', SHUTDOWN_GRACE_MS: String(graceMs) }, workers: 1 });
    try {
      const [stopping] = rig.deployment.workers;
      const sent = new Set<string>();
      rig.receiver.respond = (call) => {
        const first = !sent.has(expectedKey(call));
        sent.add(expectedKey(call));
        return first ? { delayMs: 20_000 } : {};
      };
      const workflowId = await rig.deployment.publishChain('long steps at shutdown', [
        { id: 't', type: 'trigger.manual' },
        callStep(rig.receiver.url, 'call', { timeoutMs: 30_000 }),
        { id: 'sms', type: 'sms.send', config: { to: '+15550100', text: 'hi' } },
      ]);
      const ids = await rig.deployment.startInstances(workflowId, [{}, {}, {}, {}]);
      await rig.receiver.waitFor((calls) => calls.length >= ids.length, { timeoutMs: 20_000, what: 'every call to be in flight' });
      const other = await rig.deployment.addWorker();

      const termAt = Date.now();
      const exit = await Promise.race([stopping!.signal('SIGTERM'), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 40_000))]);
      expect(exit, `${stopping!.name} had not exited 40 s after SIGTERM`).toBeDefined();
      const end = await rig.reader.waitForEnded(workflowId, ids.length, 40_000);
      const events = await rig.reader.events(workflowId);
      const restarts = ids.map((id) => {
        const restart = events.find((e) => e.instanceId === id && e.stepId === 'call' && e.event === 'start' && e.at > termAt);
        return restart ? restart.at - exit!.at : null;
      });
      expect.soft({ code: exit!.code, signal: exit!.signal }, 'how it exited').toEqual({ code: 0, signal: null });
      expect.soft(exit!.at - termAt, 'ms from SIGTERM to exit').toBeLessThanOrEqual(graceMs + 2_000);
      expect.soft(restarts.map((ms) => ms !== null && ms <= 2_000), `ms from the exit to each step's restart on ${other.name}: ${JSON.stringify(restarts)}`).toEqual(ids.map(() => true));
      expect.soft(end.counts).toEqual({ COMPLETED: ids.length });
    } finally {
      await rig.close();
    }
  });

  test('a schedule ticking every second, with two workers: each tick starts one instance, none is lost, also when one worker is killed', { timeout: 120_000 }, async () => {
    const rig = await openRig({ env: { ...SETTINGS, SCHEDULE_MIN_INTERVAL_MS: '1000', SCHEDULER_POLL_MS: '500' }, workers: 2 });
    try {
      const workflowId = await rig.deployment.publishChain('every second', [
        { id: 't', type: 'trigger.schedule', config: { every: { amount: 1, unit: 'seconds' } } },
        { id: 'sms', type: 'sms.send', config: { to: '+15550100', text: 'tick {{trigger.tickAt}}' } },
      ]);
      const count = async () => {
        const [row] = await rig.deployment.sql<{ n: number }[]>`select count(*)::int as n from workflow_instances where workflow_id = ${workflowId}`;
        return row!.n;
      };
      expect(await rig.reader.until(async () => (await count()) >= 5, 30_000, 50), 'five ticks with both workers').toBe(true);
      // A worker killed at any point, a claim on a tick in its hands or not: the other fires on.
      const killedAt = Date.now();
      await rig.deployment.workers[0]!.kill9();
      const before = await count();
      // A claim the killed worker held runs out after 10 s; then its tick, late, and those after it fire.
      expect(await rig.reader.until(async () => (await count()) >= before + 15, 40_000, 50), 'fifteen more ticks after the kill').toBe(true);
      await rig.deployment.client.request('mutation($id: ID!) { archiveWorkflow(workflowId: $id) { id } }', { id: workflowId });

      const rows = await rig.deployment.sql<{ key: string; source: string; tick: string; fired: string }[]>`
        select idempotency_key as key, idempotency_source as source, input->>'tickAt' as tick, input->>'firedAt' as fired
        from workflow_instances where workflow_id = ${workflowId} order by input->>'tickAt'`;
      const ticks = rows.map((r) => Date.parse(r.tick));
      // Before the kill, each tick fires at its time: the workers sleep until it, not until a poll.
      const late = rows.filter((r) => Date.parse(r.tick) < killedAt - 1_000 && Date.parse(r.fired) - Date.parse(r.tick) > 1_000);
      expect(late.map((r) => `${r.tick} fired ${r.fired}`), 'ticks fired more than 1 s late with both workers up').toEqual([]);
      const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!).filter((gap) => gap !== 1_000);
      expect(rows.every((r) => r.source === 'schedule' && r.key === r.tick), 'each instance is keyed by its tick').toBe(true);
      expect(new Set(rows.map((r) => r.tick)).size, 'one instance per tick').toBe(rows.length);
      expect(gaps, `ticks not one second after the one before (killed at ${new Date(killedAt).toISOString()})`).toEqual([]);
      expect(rows.length).toBeGreaterThanOrEqual(20);
      const end = await rig.reader.waitForEnded(workflowId, rows.length, 40_000);
      expect(end.counts).toEqual({ COMPLETED: rows.length });
    } finally {
      await rig.close();
    }
  });
});
