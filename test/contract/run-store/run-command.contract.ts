import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimFirst, newInstance, type MakeRunStores, type RunStores } from './run-store-harness.js';

/**
 * What every RunCommandStore must do: a change is applied whole or not at all, every transition is
 * a compare-and-set on status and fence, a claim raises the fence and takes a lease on the store's
 * clock, and concurrent commits of one step run let exactly one win.
 */
export function describeRunCommandContract(name: string, make: MakeRunStores): void {
  describe(`RunCommandStore contract: ${name}`, () => {
    let stores: RunStores & { close(): Promise<void> };
    let scope: { workspaceId: string; workflowId: string };
    beforeAll(async () => {
      stores = await make();
      scope = await stores.newScope();
    });
    afterAll(async () => {
      await stores?.close();
    });

    const state = async (instanceId: string, stepRunId: string) => {
      const loaded = await stores.commands.loadForExecution(stepRunId);
      return {
        instance: loaded!.instance,
        stepRun: loaded!.stepRun,
        events: await stores.queries.listEvents(instanceId, { afterSeq: 0, first: 100 }),
        stepRuns: await stores.queries.listStepRuns(instanceId),
      };
    };

    it('creates an instance with its first step run and two events; an idempotency key taken returns that instance', async () => {
      const key = `key-${randomUUID()}`;
      const made = await newInstance(stores.commands, scope, { stepId: 'trigger', idempotencyKey: key, input: { text: 'héllo', n: null } });
      expect(made.instance).toMatchObject({ status: 'PENDING', input: { text: 'héllo', n: null }, idempotencyKey: key, eventSeq: 2, currentStepId: 'trigger' });
      const s = await state(made.instance.id, made.stepRunId);
      expect(s.events.map((e) => [e.seq, e.entity, e.event, e.toStatus, e.stepId])).toEqual([
        [1, 'INSTANCE', 'create', 'PENDING', null],
        [2, 'STEP', 'schedule', 'SCHEDULED', 'trigger'],
      ]);
      expect(s.stepRun).toMatchObject({ status: 'SCHEDULED', attempt: 0, fence: 0, leaseOwner: null, lostCount: 0, handbackCount: 0 });

      const again = await newInstance(stores.commands, scope, { stepId: 'trigger', idempotencyKey: key });
      expect(again.instance.id).toBe(made.instance.id);
      expect(await stores.queries.listStepRuns(made.instance.id)).toHaveLength(1);
    });

    it('creates many instances in one call, in order: new ones, the holder of a taken key, nothing for a workflow not active', async () => {
      const active = await stores.newScope({ status: 'ACTIVE' });
      const archived = await stores.newScope({ status: 'ARCHIVED' });
      const taken = await newInstance(stores.commands, active, { idempotency: { source: 'schedule', key: 'tick-0' } });
      const one = (target: { workspaceId: string; workflowId: string }, key: string, n: number) => ({
        id: randomUUID(),
        workspaceId: target.workspaceId,
        workflowId: target.workflowId,
        version: 1,
        input: { n },
        idempotency: { source: 'schedule' as const, key },
        firstStep: { stepRunId: randomUUID(), stepId: 'tick', stepType: 'trigger.schedule' },
      });
      const inputs = [one(active, 'tick-1', 1), one(active, 'tick-0', 0), one(archived, 'tick-1', 2), one(active, 'tick-2', 3)];
      const results = await stores.commands.createInstances(inputs);
      expect(results.map((r) => r && [r.created, r.instance.id])).toEqual([
        [true, inputs[0]!.id],
        [false, taken.instance.id],
        undefined,
        [true, inputs[3]!.id],
      ]);
      expect(results[0]!.instance).toMatchObject({ status: 'PENDING', input: { n: 1 }, idempotencyKey: 'tick-1', eventSeq: 2, currentStepId: 'tick' });
      for (const i of [0, 3]) {
        const s = await state(inputs[i]!.id, inputs[i]!.firstStep.stepRunId);
        expect(s.stepRun).toMatchObject({ status: 'SCHEDULED', attempt: 0, fence: 0, stepId: 'tick' });
        expect(s.events.map((e) => [e.seq, e.entity, e.event, e.toStatus, e.stepId, e.stepRunId])).toEqual([
          [1, 'INSTANCE', 'create', 'PENDING', null, null],
          [2, 'STEP', 'schedule', 'SCHEDULED', 'tick', inputs[i]!.firstStep.stepRunId],
        ]);
        expect(results[i]!.events.map((e) => e.seq)).toEqual([1, 2]);
      }
      expect(await stores.commands.loadForExecution(inputs[2]!.firstStep.stepRunId)).toBeUndefined();
      expect(await stores.commands.createInstances([])).toEqual([]);
    });

    it('a claim raises the fence by one, names the owner and takes a lease on the store clock', async () => {
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      const before = Date.now();
      const claimed = await claimFirst(stores.commands, instance, stepRunId, { owner: 'worker-a', leaseMs: 60_000 });
      expect(claimed).toMatchObject({ status: 'RUNNING', fence: 1, leaseOwner: 'worker-a', attempt: 1 });
      // The store's clock, not ours, but both are this machine's here.
      expect(claimed.leaseUntil!.getTime()).toBeGreaterThan(before + 50_000);
      const [, , , start] = (await stores.queries.listEvents(instance.id, { afterSeq: 0, first: 10 })).map((e) => e);
      expect(start).toMatchObject({ entity: 'STEP', event: 'start', fromStatus: 'SCHEDULED', toStatus: 'RUNNING' });
    });

    it('a write naming an old fence is refused and changes nothing, even when the status matches', async () => {
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      const first = await claimFirst(stores.commands, instance, stepRunId, { owner: 'worker-a' });
      // Worker b takes over the step: hand-back and a new claim (fence 2).
      const lost = await stores.commands.commit({
        instanceId: instance.id,
        steps: [{ stepRunId, stepId: 'a', from: 'RUNNING', to: 'RETRYING', event: 'lose', attempt: 1, fence: first.fence, patch: { leaseUntil: null } }],
      });
      expect(lost.ok).toBe(true);
      const second = await stores.commands.commit({
        instanceId: instance.id,
        instanceIs: 'RUNNING',
        steps: [
          { stepRunId, stepId: 'a', from: 'RETRYING', to: 'RUNNING', event: 'start', attempt: 2, fence: first.fence, claim: { owner: 'worker-b', leaseMs: 60_000 }, patch: { attempt: 2 } },
        ],
      });
      expect(second.ok).toBe(true);
      const before = await state(instance.id, stepRunId);
      expect(before.stepRun).toMatchObject({ status: 'RUNNING', fence: 2, leaseOwner: 'worker-b' });

      // Worker a wakes up: its outcome, its lease extension and a claim from its stale copy all miss.
      expect(
        await stores.commands.commit({
          instanceId: instance.id,
          instance: { from: 'RUNNING', to: 'COMPLETED', event: 'complete' },
          steps: [{ stepRunId, stepId: 'a', from: 'RUNNING', to: 'SUCCEEDED', event: 'succeed', attempt: 1, fence: first.fence, patch: { output: 'stale' } }],
        }),
      ).toEqual({ ok: false });
      expect(await stores.commands.extendLease({ stepRunId, fence: first.fence, leaseMs: 60_000 })).toBe(false);
      expect(await stores.commands.extendLease({ stepRunId, fence: 2, leaseMs: 60_000 })).toBe(true);
      const after = await state(instance.id, stepRunId);
      expect({ ...after.stepRun, leaseUntil: null }).toEqual({ ...before.stepRun, leaseUntil: null });
      expect(after.events).toEqual(before.events);
      expect(after.instance.status).toBe('RUNNING');
    });

    it('a hand-back that requires an expired lease misses while the lease runs, and applies once it has run out', async () => {
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      const held = await claimFirst(stores.commands, instance, stepRunId, { leaseMs: 60_000 });
      const handBack = () =>
        stores.commands.commit({
          instanceId: instance.id,
          steps: [{ stepRunId, stepId: 'a', from: 'RUNNING', to: 'RETRYING', event: 'lose', attempt: 1, fence: held.fence, leaseExpired: true, patch: { lostCount: 1, leaseUntil: null } }],
        });
      expect(await handBack()).toEqual({ ok: false });
      // A lease of one millisecond has run out by the time the next statement runs.
      expect(await stores.commands.extendLease({ stepRunId, fence: held.fence, leaseMs: 1 })).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await handBack()).ok).toBe(true);
      expect((await state(instance.id, stepRunId)).stepRun).toMatchObject({ status: 'RETRYING', lostCount: 1, fence: 1, leaseUntil: null });
    });

    it('the outcome of one step and the claim of the next commit together: the next is created running, scheduled then started in the log', async () => {
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      const held = await claimFirst(stores.commands, instance, stepRunId);
      const nextId = randomUUID();
      const skippedId = randomUUID();
      const result = await stores.commands.commit({
        instanceId: instance.id,
        instanceIs: 'RUNNING',
        instancePatch: { currentStepId: 'b' },
        steps: [{ stepRunId, stepId: 'a', from: 'RUNNING', to: 'SUCCEEDED', event: 'succeed', attempt: 1, fence: held.fence, patch: { output: { sid: 'x' }, leaseUntil: null, finishedAt: new Date() } }],
        newStepRuns: [
          { id: skippedId, stepId: 'c', stepType: 'sms.send', status: 'SKIPPED', dueAt: new Date() },
          { id: nextId, stepId: 'b', stepType: 'sms.send', status: 'RUNNING', dueAt: new Date(), claim: { owner: 'worker-a', leaseMs: 60_000 }, input: { to: '+1' }, startDetail: { worker: 'worker-a' } },
        ],
      });
      expect(result.ok && result.events.map((e) => [e.seq, e.stepId, e.event, e.fromStatus, e.toStatus, e.attempt])).toEqual([
        [5, 'a', 'succeed', 'RUNNING', 'SUCCEEDED', 1],
        [6, 'c', 'skip', null, 'SKIPPED', 0],
        [7, 'b', 'schedule', null, 'SCHEDULED', 0],
        [8, 'b', 'start', 'SCHEDULED', 'RUNNING', 1],
      ]);
      expect(result.ok && new Set(result.events.map((e) => e.xid)).size).toBe(1);
      const next = await stores.commands.loadForExecution(nextId);
      expect(next!.stepRun).toMatchObject({ status: 'RUNNING', attempt: 1, fence: 1, leaseOwner: 'worker-a', input: { to: '+1' } });
      expect(next!.stepRun.startedAt).toBeInstanceOf(Date);
      expect(next!.stepRun.leaseUntil!.getTime()).toBeGreaterThan(Date.now() + 50_000);
      expect(next!.instance.currentStepId).toBe('b');
    });

    it('writes nothing when any compare-and-set of a change misses, after the instance row was updated', async () => {
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      const before = await state(instance.id, stepRunId);
      expect(
        await stores.commands.commit({
          instanceId: instance.id,
          instance: { from: 'PENDING', to: 'RUNNING', event: 'start', patch: { startedAt: new Date() } },
          steps: [{ stepRunId, stepId: 'a', from: 'RUNNING', to: 'SUCCEEDED', event: 'succeed', attempt: 1, patch: { output: 1 } }],
          newStepRuns: [{ id: randomUUID(), stepId: 'b', stepType: 'sms.send', status: 'SCHEDULED', dueAt: new Date() }],
        }),
      ).toEqual({ ok: false });
      expect(
        await stores.commands.commit({ instanceId: instance.id, instanceIs: 'RUNNING', instancePatch: { currentStepId: 'zzz' } }),
      ).toEqual({ ok: false });
      expect(await state(instance.id, stepRunId)).toEqual(before);
    });

    it('commits racing on one step run: exactly one wins, the others miss, and the log has no gap', async () => {
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      const start = (owner: string) =>
        stores.commands.commit({
          instanceId: instance.id,
          instance: { from: 'PENDING', to: 'RUNNING', event: 'start' },
          steps: [{ stepRunId, stepId: 'a', from: 'SCHEDULED', to: 'RUNNING', event: 'start', attempt: 1, fence: 0, claim: { owner, leaseMs: 60_000 }, patch: { attempt: 1 } }],
        });
      const results = await Promise.all(['w1', 'w2', 'w3', 'w4'].map(start));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      const s = await state(instance.id, stepRunId);
      expect(s.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(s.stepRun.fence).toBe(1);
    });

    it('many changes of many instances committed at once: each is applied or missed on its own', async () => {
      const made = await Promise.all(Array.from({ length: 12 }, () => newInstance(stores.commands, scope)));
      // Every third one names a wrong state and must miss; the others must all apply.
      const results = await Promise.all(
        made.map(({ instance, stepRunId }, i) =>
          stores.commands.commit({
            instanceId: instance.id,
            instance: { from: 'PENDING', to: 'RUNNING', event: 'start' },
            steps: [{ stepRunId, stepId: 'a', from: i % 3 === 0 ? 'RETRYING' : 'SCHEDULED', to: 'RUNNING', event: 'start', attempt: 1, fence: 0, claim: { owner: 'w', leaseMs: 60_000 }, patch: { attempt: 1 } }],
          }),
        ),
      );
      results.forEach((r, i) => {
        expect(r.ok).toBe(i % 3 !== 0);
        if (r.ok) expect(r.events.map((e) => [e.instanceId, e.seq])).toEqual([[made[i]!.instance.id, 3], [made[i]!.instance.id, 4]]);
      });
      for (const [i, { stepRunId }] of made.entries()) {
        expect((await stores.commands.loadForExecution(stepRunId))!.stepRun.status).toBe(i % 3 === 0 ? 'SCHEDULED' : 'RUNNING');
      }
    });

    it('a change the store cannot hold is refused with a non-retryable failure, and changes committed with it still apply', async () => {
      // Five at once: the last ones wait for the first and go out together, in one statement.
      const made = await Promise.all(Array.from({ length: 5 }, () => newInstance(stores.commands, scope)));
      const claim = (m: (typeof made)[number], input: unknown) =>
        stores.commands.commit({
          instanceId: m.instance.id,
          instance: { from: 'PENDING', to: 'RUNNING', event: 'start' },
          steps: [{ stepRunId: m.stepRunId, stepId: 'a', from: 'SCHEDULED', to: 'RUNNING', event: 'start', attempt: 1, patch: { attempt: 1, input: input as never } }],
        });
      const results = await Promise.allSettled(made.map((m, i) => claim(m, i === 3 ? { text: 'nul \u0000 here' } : { text: 'fine' })));
      results.forEach((r, i) => {
        if (i === 3) expect(r.status === 'rejected' && r.reason).toMatchObject({ retryable: false });
        else expect(r.status === 'fulfilled' && r.value.ok).toBe(true);
      });
      expect((await stores.commands.loadForExecution(made[3]!.stepRunId))!.stepRun.status).toBe('SCHEDULED');
      expect((await stores.commands.loadForExecution(made[4]!.stepRunId))!.stepRun.status).toBe('RUNNING');
    });

    it('outputs of succeeded step runs, by step id', async () => {
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      const held = await claimFirst(stores.commands, instance, stepRunId);
      await stores.commands.commit({
        instanceId: instance.id,
        steps: [{ stepRunId, stepId: 'a', from: 'RUNNING', to: 'SUCCEEDED', event: 'succeed', attempt: 1, fence: held.fence, patch: { output: { n: 1 } } }],
      });
      expect(await stores.commands.outputsOf(instance.id, ['a', 'missing'])).toEqual({ a: { output: { n: 1 } } });
      expect(await stores.commands.outputsOf(instance.id, [])).toEqual({});
    });

    it('a step run that failed and followed its error edge gives its error as output and as error; another failure gives nothing', async () => {
      const fail = async (handled: boolean) => {
        const { instance, stepRunId } = await newInstance(stores.commands, scope);
        const held = await claimFirst(stores.commands, instance, stepRunId);
        const error = { message: 'HTTP 500', retryable: true, ...(handled ? { handled: true } : {}) };
        await stores.commands.commit({
          instanceId: instance.id,
          steps: [
            { stepRunId, stepId: 'a', from: 'RUNNING', to: 'FAILED', event: 'fail', attempt: 1, fence: held.fence, patch: { error, output: { code: 'HTTP_500' } } },
          ],
        });
        return stores.commands.outputsOf(instance.id, ['a']);
      };
      expect(await fail(true)).toEqual({ a: { output: { code: 'HTTP_500' }, error: { code: 'HTTP_500' } } });
      expect(await fail(false)).toEqual({});
    });

    it('an unknown instance or step run is a miss or nothing, never an error', async () => {
      expect(await stores.commands.commit({ instanceId: randomUUID(), instancePatch: { currentStepId: 'x' } })).toEqual({ ok: false });
      expect(await stores.commands.loadForExecution(randomUUID())).toBeUndefined();
      expect(await stores.commands.loadForExecution('not-a-uuid')).toBeUndefined();
      expect(await stores.commands.extendLease({ stepRunId: randomUUID(), fence: 1, leaseMs: 1000 })).toBe(false);
    });
  });
}
