import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/persistence/database.js';
import { RunRepository } from '../../src/persistence/run.repository.js';
import { testDatabaseUrl } from '../support/test-server.js';

/**
 * The run store's commit, at the repository: one statement applies a whole change, and a
 * compare-and-set that misses anywhere in it leaves nothing behind.
 */
describe('RunRepository.commit', () => {
  let database: Database;
  let runs: RunRepository;
  let dataDir: string | undefined;
  let workspaceId: string;
  let workflowId: string;

  beforeAll(async () => {
    const url = testDatabaseUrl();
    dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'wfb-runstore-'));
    database = await openDatabase({ url, dataDir: dataDir ?? '', poolSize: 4 });
    runs = new RunRepository(database.db);
    workspaceId = randomUUID();
    workflowId = randomUUID();
    await database.sql`insert into workspaces (id, name) values (${workspaceId}, 'run store test')`;
    await database.sql`insert into workflows (id, workspace_id, name) values (${workflowId}, ${workspaceId}, 'run store test')`;
  });

  afterAll(async () => {
    await database?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function newInstance() {
    const id = randomUUID();
    const stepRunId = randomUUID();
    await runs.createInstance({
      id,
      workspaceId,
      workflowId,
      version: 1,
      input: { hello: 'world' },
      firstStep: { stepRunId, stepId: 'a', stepType: 'sms.send' },
    });
    return { id, stepRunId };
  }

  async function state(instanceId: string, stepRunId: string) {
    const loaded = await runs.loadForExecution(stepRunId);
    const events = await runs.listEvents(instanceId, { afterSeq: 0, first: 100 });
    const stepRuns = await runs.listStepRuns(instanceId);
    return { instance: loaded!.instance, stepRun: loaded!.stepRun, events, stepRuns };
  }

  it('creates an instance with its first step run and two events; an idempotency key taken returns that instance', async () => {
    const id = randomUUID();
    const stepRunId = randomUUID();
    const input = { id, workspaceId, workflowId, version: 3, input: { text: 'héllo', n: null }, idempotency: { source: 'graphql', key: `key-${id}` } } as const;
    const made = await runs.createInstance({ ...input, firstStep: { stepRunId, stepId: 'trigger', stepType: 'trigger.manual' } });
    expect(made.created).toBe(true);
    expect(made.instance).toMatchObject({
      id,
      workspaceId,
      workflowId,
      version: 3,
      status: 'PENDING',
      input: { text: 'héllo', n: null },
      idempotencyKey: `key-${id}`,
      idempotencySource: 'graphql',
      eventSeq: 2,
      currentStepId: 'trigger',
      error: null,
      startedAt: null,
      finishedAt: null,
    });
    expect(made.instance.createdAt).toBeInstanceOf(Date);
    expect(made.events.map((e) => [e.seq, e.entity, e.event, e.fromStatus, e.toStatus, e.stepId, e.stepRunId, e.attempt])).toEqual([
      [1, 'INSTANCE', 'create', null, 'PENDING', null, null, null],
      [2, 'STEP', 'schedule', null, 'SCHEDULED', 'trigger', stepRunId, 0],
    ]);
    // Events carry the database's time of writing; the instance the time it was asked for.
    expect(Math.abs(made.events[0]!.at.getTime() - made.instance.createdAt.getTime())).toBeLessThan(5_000);
    expect(await runs.getInstance(workspaceId, id)).toEqual(made.instance);
    expect((await runs.listEvents(id, { afterSeq: 0, first: 10 })).map((e) => ({ ...e, detail: e.detail ?? null }))).toEqual(
      made.events.map((e) => ({ ...e, detail: e.detail ?? null })),
    );

    const again = await runs.createInstance({ ...input, id: randomUUID(), firstStep: { stepRunId: randomUUID(), stepId: 'trigger', stepType: 'trigger.manual' } });
    expect(again.created).toBe(false);
    expect(again.instance.id).toBe(id);
    expect(again.events).toEqual([]);
    expect(await runs.listStepRuns(id)).toHaveLength(1);
  });

  it('applies transitions, patches and new step runs, and returns the events with gapless seqs', async () => {
    const { id, stepRunId } = await newInstance();
    const startedAt = new Date('2026-01-02T03:04:05.678Z');
    // In the future: a lease that has run out invites any server's sweep on this database to take the step.
    const leaseUntil = new Date('2126-01-02T03:05:05.678Z');
    const started = await runs.commit({
      instanceId: id,
      instance: { from: 'PENDING', to: 'RUNNING', event: 'start', patch: { startedAt, currentStepId: 'a' } },
      steps: [
        {
          stepRunId,
          stepId: 'a',
          from: 'SCHEDULED',
          to: 'RUNNING',
          event: 'start',
          attempt: 1,
          patch: { attempt: 1, leaseUntil, startedAt, input: { text: 'hi', n: [1, 2] } },
          detail: { resumed: true },
        },
      ],
    });
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    // The instance event comes first when the instance starts; seqs continue after create (1) and schedule (2).
    expect(started.events.map((e) => [e.seq, e.entity, e.event, e.fromStatus, e.toStatus])).toEqual([
      [3, 'INSTANCE', 'start', 'PENDING', 'RUNNING'],
      [4, 'STEP', 'start', 'SCHEDULED', 'RUNNING'],
    ]);
    expect(started.events[1]).toMatchObject({ stepId: 'a', stepRunId, attempt: 1, detail: { resumed: true }, workflowId, workspaceId });
    expect(started.events[0]!.cursor).toBeLessThan(started.events[1]!.cursor);
    expect(started.events[0]!.at).toBeInstanceOf(Date);
    expect(BigInt(started.events[0]!.xid)).toBeGreaterThan(0n);

    let s = await state(id, stepRunId);
    expect(s.instance).toMatchObject({ status: 'RUNNING', startedAt, currentStepId: 'a', eventSeq: 4 });
    expect(s.stepRun).toMatchObject({ status: 'RUNNING', attempt: 1, leaseUntil, startedAt, input: { text: 'hi', n: [1, 2] } });

    const nextId = randomUUID();
    const skippedId = randomUUID();
    const done = await runs.commit({
      instanceId: id,
      steps: [
        {
          stepRunId,
          stepId: 'a',
          from: 'RUNNING',
          to: 'SUCCEEDED',
          event: 'succeed',
          attempt: 1,
          // null clears a column; a key left out keeps it (startedAt, input).
          patch: { output: { sid: 'x' }, leaseUntil: null, error: null, finishedAt: leaseUntil },
        },
      ],
      newStepRuns: [
        { id: skippedId, stepId: 'c', stepType: 'sms.send', status: 'SKIPPED', dueAt: leaseUntil },
        { id: nextId, stepId: 'b', stepType: 'sms.send', status: 'SCHEDULED', dueAt: leaseUntil },
      ],
    });
    expect(done.ok && done.events.map((e) => [e.seq, e.stepId, e.event, e.toStatus])).toEqual([
      [5, 'a', 'succeed', 'SUCCEEDED'],
      [6, 'c', 'skip', 'SKIPPED'],
      [7, 'b', 'schedule', 'SCHEDULED'],
    ]);
    s = await state(id, stepRunId);
    expect(s.stepRun).toMatchObject({ status: 'SUCCEEDED', output: { sid: 'x' }, leaseUntil: null, startedAt, input: { text: 'hi', n: [1, 2] } });
    const byStep = Object.fromEntries(s.stepRuns.map((r) => [r.stepId, r]));
    expect(byStep.b).toMatchObject({ id: nextId, status: 'SCHEDULED', dueAt: leaseUntil, finishedAt: null });
    expect(byStep.c).toMatchObject({ id: skippedId, status: 'SKIPPED' });
    expect(byStep.c!.finishedAt).toBeInstanceOf(Date);
    expect(s.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('writes nothing when the instance is not in the expected state', async () => {
    const { id, stepRunId } = await newInstance();
    const before = await state(id, stepRunId);
    const result = await runs.commit({
      instanceId: id,
      instance: { from: 'RUNNING', to: 'COMPLETED', event: 'complete' },
      steps: [{ stepRunId, stepId: 'a', from: 'SCHEDULED', to: 'RUNNING', event: 'start', attempt: 1, patch: { attempt: 1 } }],
    });
    expect(result).toEqual({ ok: false });
    expect(await state(id, stepRunId)).toEqual(before);
  });

  it('writes nothing when a later step misses its compare-and-set, after the instance row was updated', async () => {
    const { id, stepRunId } = await newInstance();
    const before = await state(id, stepRunId);
    const result = await runs.commit({
      instanceId: id,
      instance: { from: 'PENDING', to: 'RUNNING', event: 'start', patch: { startedAt: new Date() } },
      steps: [{ stepRunId, stepId: 'a', from: 'RUNNING', to: 'SUCCEEDED', event: 'succeed', attempt: 1, patch: { output: 1 } }],
      newStepRuns: [{ id: randomUUID(), stepId: 'b', stepType: 'sms.send', status: 'SCHEDULED', dueAt: new Date() }],
    });
    expect(result).toEqual({ ok: false });
    expect(await state(id, stepRunId)).toEqual(before);
  });

  it('two commits racing on the same step run: exactly one wins, and the log has no gap', async () => {
    const { id, stepRunId } = await newInstance();
    const start = () =>
      runs.commit({
        instanceId: id,
        instance: { from: 'PENDING', to: 'RUNNING', event: 'start' },
        steps: [{ stepRunId, stepId: 'a', from: 'SCHEDULED', to: 'RUNNING', event: 'start', attempt: 1, patch: { attempt: 1 } }],
      });
    const results = await Promise.all([start(), start(), start()]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const s = await state(id, stepRunId);
    expect(s.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(s.instance.eventSeq).toBe(4);
  });

  it('a change to an unknown instance is a miss, not an error', async () => {
    expect(await runs.commit({ instanceId: randomUUID(), instancePatch: { currentStepId: 'x' } })).toEqual({ ok: false });
  });

  it('reads the horizon and the events below it in one statement, with or without events, in cursor order', async () => {
    // A workflow of its own, so other tests' events do not count.
    const wf = randomUUID();
    await database.sql`insert into workflows (id, workspace_id, name) values (${wf}, ${workspaceId}, 'horizon test')`;
    const empty = await runs.workflowEventsToHorizon({ workspaceId, workflowId: wf, fromXid: 0n, limit: 10 });
    expect(empty.events).toEqual([]);
    expect(empty.horizon).toBe(await runs.visibleXidHorizon());

    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) {
      await runs.createInstance({ id, workspaceId, workflowId: wf, version: 1, input: {}, firstStep: { stepRunId: randomUUID(), stepId: 'a', stepType: 'sms.send' } });
    }
    // Other test files share this database: a transaction of theirs may hold the horizon for a moment.
    let all = await runs.workflowEventsToHorizon({ workspaceId, workflowId: wf, fromXid: empty.horizon, limit: 10 });
    for (let tries = 0; all.events.length < 4 && tries < 250; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      all = await runs.workflowEventsToHorizon({ workspaceId, workflowId: wf, fromXid: empty.horizon, limit: 10 });
    }
    expect(all.horizon).toBeGreaterThan(empty.horizon);
    expect(all.events.map((e) => [e.instanceId, e.seq])).toEqual([
      [ids[0], 1],
      [ids[0], 2],
      [ids[1], 1],
      [ids[1], 2],
    ]);
    expect(all.events.every((e) => BigInt(e.xid) >= empty.horizon && BigInt(e.xid) < all.horizon)).toBe(true);
    // The same as the two-step read; a page limit holds; another workspace sees nothing.
    expect(await runs.workflowEvents({ workspaceId, workflowId: wf, fromXid: empty.horizon, toXid: all.horizon, afterCursor: 0, limit: 10 })).toEqual(all.events);
    expect((await runs.workflowEventsToHorizon({ workspaceId, workflowId: wf, fromXid: empty.horizon, limit: 3 })).events).toEqual(all.events.slice(0, 3));
    expect((await runs.workflowEventsToHorizon({ workspaceId: randomUUID(), workflowId: wf, fromXid: 0n, limit: 10 })).events).toEqual([]);
    // From the new horizon on, nothing yet.
    expect((await runs.workflowEventsToHorizon({ workspaceId, workflowId: wf, fromXid: all.horizon, limit: 10 })).events).toEqual([]);
  });
});
