import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WaitTarget } from '../../../src/domain/wait.js';
import { planWake } from '../../../src/engine/step-outcome.js';
import type { RunCommandStore } from '../../../src/ports/run-command.store.port.js';
import type { InstanceRecord } from '../../../src/ports/run-records.js';
import type { KeepPolicy, MessageWaitMatch, WaitingStep } from '../../../src/ports/wait.store.port.js';
import { claimFirst, newInstance, type MakeRunStores, type RunStores } from './run-store-harness.js';

/** Parks the first step of a new instance of `scope` waiting for `target`, as a wait.forEvent's commit does. */
async function waitingInstance(commands: RunCommandStore, scope: { workspaceId: string; workflowId: string }, target: WaitTarget) {
  const { instance, stepRunId } = await newInstance(commands, scope, { stepId: 'wait' });
  const running = await claimFirst(commands, instance, stepRunId);
  const result = await commands.commit({
    instanceId: instance.id,
    instance: { from: 'RUNNING', to: 'WAITING', event: 'wait', patch: { waitReason: target.reason } },
    steps: [
      {
        stepRunId, stepId: 'wait', from: 'RUNNING', to: 'SCHEDULED', event: 'wait', attempt: 1, fence: running.fence,
        patch: { dueAt: new Date(Date.now() + 3_600_000), resumed: true, leaseUntil: null, waitReason: target.reason, arrival: null },
      },
    ],
    wait: { stepRunId, fence: running.fence, workspaceId: scope.workspaceId, target },
  });
  if (!result.ok) throw new Error('wait missed');
  return { instance: instance as InstanceRecord, stepRunId, fence: running.fence };
}

/**
 * What every WaitStore must do: wake what waits for an event in its workspace, through the wake's
 * compare-and-set; keep what nobody waits for, bounded, until it expires; hand a kept event to the
 * first wait that begins, once.
 */
export function describeWaitContract(name: string, make: MakeRunStores): void {
  describe(`WaitStore contract: ${name}`, () => {
    let stores: RunStores & { close(): Promise<void> };
    beforeAll(async () => {
      stores = await make();
    });
    afterAll(async () => {
      await stores?.close();
    });

    const target = (key: string): WaitTarget => ({ reason: 'event', name: 'order.paid', key });
    const keep = (over: Partial<KeepPolicy> = {}): KeepPolicy => ({ expiresAt: new Date(Date.now() + 60_000), maxPerKey: 3, maxPerWorkspace: 100, ...over });
    const arrival = (payload: unknown) => ({ reason: 'event' as const, payload: payload as never, at: new Date().toISOString() });
    const wake = (payload: unknown) => (step: WaitingStep) => planWake({ step, arrival: arrival(payload), now: new Date(), detail: {} });
    const send = (workspaceId: string, key: string, payload: unknown, policy = keep()) =>
      stores.waits.deliverEvent({ event: { workspaceId, name: 'order.paid', key, payload: payload as never }, now: new Date(), keep: policy, wake: wake(payload) });
    const take = (stepRunId: string) =>
      stores.waits.takeKeptEvent({ stepRunId, now: new Date(), wake: (step, kept) => planWake({ step, arrival: arrival(kept.payload), now: new Date(), detail: { kept: true } }) });

    it('wakes the step waiting for the event: due now, its arrival stored, its fence raised; the registration is then spent', async () => {
      const scope = await stores.newScope();
      const waiting = await waitingInstance(stores.commands, scope, target('k1'));
      const delivered = await send(scope.workspaceId, 'k1', { amount: 5 });
      expect(delivered).toMatchObject({ outcome: 'woken', woken: [{ stepRunId: waiting.stepRunId, instanceId: waiting.instance.id }] });
      if (delivered.outcome !== 'woken') return;
      expect(delivered.woken[0]!.events.map((e) => [e.event, e.fromStatus, e.toStatus])).toEqual([['wake', 'SCHEDULED', 'SCHEDULED']]);
      const loaded = (await stores.commands.loadForExecution(waiting.stepRunId))!;
      expect(loaded.stepRun).toMatchObject({ status: 'SCHEDULED', fence: waiting.fence + 1, waitReason: 'event', arrival: { reason: 'event', payload: { amount: 5 } } });
      expect(loaded.stepRun.dueAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect(loaded.instance).toMatchObject({ status: 'WAITING', waitReason: 'event' });
      // Spent: the next event of the key finds nobody waiting.
      expect((await send(scope.workspaceId, 'k1', { amount: 6 })).outcome).toBe('kept');
    });

    it('wakes nothing when the timeout started the step first (the wake misses), and keeps the event', async () => {
      const scope = await stores.newScope();
      const waiting = await waitingInstance(stores.commands, scope, target('k2'));
      // The timeout's start: fenced on the wait's fence, taking the lease.
      const started = await stores.commands.commit({
        instanceId: waiting.instance.id,
        instance: { from: 'WAITING', to: 'RUNNING', event: 'resume' },
        steps: [{ stepRunId: waiting.stepRunId, stepId: 'wait', from: 'SCHEDULED', to: 'RUNNING', event: 'start', attempt: 1, fence: waiting.fence, claim: { owner: 'w', leaseMs: 60_000 } }],
      });
      expect(started.ok).toBe(true);
      expect((await send(scope.workspaceId, 'k2', 1)).outcome).toBe('kept');
      expect((await stores.commands.loadForExecution(waiting.stepRunId))!.stepRun).toMatchObject({ status: 'RUNNING', arrival: null });
    });

    it('and a start fenced on the wait fails once a wake came first', async () => {
      const scope = await stores.newScope();
      const waiting = await waitingInstance(stores.commands, scope, target('k3'));
      expect((await send(scope.workspaceId, 'k3', 1)).outcome).toBe('woken');
      const stale = await stores.commands.commit({
        instanceId: waiting.instance.id,
        instance: { from: 'WAITING', to: 'RUNNING', event: 'resume' },
        steps: [{ stepRunId: waiting.stepRunId, stepId: 'wait', from: 'SCHEDULED', to: 'RUNNING', event: 'start', attempt: 1, fence: waiting.fence, claim: { owner: 'w', leaseMs: 60_000 } }],
      });
      expect(stale.ok).toBe(false);
    });

    it("never wakes another workspace's wait, nor hands it another workspace's kept event", async () => {
      const mine = await stores.newScope();
      const theirs = await stores.newScope();
      const waiting = await waitingInstance(stores.commands, mine, target('shared'));
      expect((await send(theirs.workspaceId, 'shared', 'theirs')).outcome).toBe('kept');
      expect(await take(waiting.stepRunId)).toEqual({ outcome: 'waiting' });
      expect((await stores.commands.loadForExecution(waiting.stepRunId))!.stepRun.arrival).toBeNull();
    });

    it('keeps an event nobody waits for and hands it, oldest first and once, to waits that begin', async () => {
      const scope = await stores.newScope();
      await send(scope.workspaceId, 'k4', 'first');
      await send(scope.workspaceId, 'k4', 'second');
      const a = await waitingInstance(stores.commands, scope, target('k4'));
      const b = await waitingInstance(stores.commands, scope, target('k4'));
      const c = await waitingInstance(stores.commands, scope, target('k4'));
      expect(await take(a.stepRunId)).toMatchObject({ outcome: 'woken', woken: { stepRunId: a.stepRunId } });
      expect(await take(b.stepRunId)).toMatchObject({ outcome: 'woken' });
      expect(await take(c.stepRunId)).toEqual({ outcome: 'waiting' });
      // Taken again: a no longer waits at its fence.
      expect(await take(a.stepRunId)).toEqual({ outcome: 'notWaiting' });
      const payloads = await Promise.all([a, b].map(async (w) => (await stores.commands.loadForExecution(w.stepRunId))!.stepRun.arrival?.payload));
      expect(payloads).toEqual(['first', 'second']);
    });

    it('bounds kept events per key and per workspace, refusing without writing', async () => {
      const scope = await stores.newScope();
      for (const n of [1, 2, 3]) expect((await send(scope.workspaceId, 'k5', n)).outcome).toBe('kept');
      expect(await send(scope.workspaceId, 'k5', 4)).toEqual({ outcome: 'full', limit: 'key', max: 3 });
      expect(await send(scope.workspaceId, 'k6', 5, keep({ maxPerWorkspace: 3 }))).toEqual({ outcome: 'full', limit: 'workspace', max: 3 });
      const w = await waitingInstance(stores.commands, scope, target('k6'));
      expect(await take(w.stepRunId)).toEqual({ outcome: 'waiting' });
    });

    it('neither hands out nor counts expired events, and purges them', async () => {
      const scope = await stores.newScope();
      const past = new Date(Date.now() - 1_000);
      expect((await send(scope.workspaceId, 'k7', 'stale', keep({ expiresAt: past }))).outcome).toBe('kept');
      expect((await send(scope.workspaceId, 'k7', 'stale', keep({ expiresAt: past }))).outcome).toBe('kept');
      expect((await send(scope.workspaceId, 'k7', 'stale', keep({ expiresAt: past }))).outcome).toBe('kept');
      // Three expired ones do not fill a key of three.
      expect((await send(scope.workspaceId, 'k7', 'fresh')).outcome).toBe('kept');
      const w = await waitingInstance(stores.commands, scope, target('k7'));
      expect(await take(w.stepRunId)).toMatchObject({ outcome: 'woken' });
      expect((await stores.commands.loadForExecution(w.stepRunId))!.stepRun.arrival?.payload).toBe('fresh');
      await send(scope.workspaceId, 'k8', 'stale', keep({ expiresAt: past }));
      expect(await stores.waits.purgeExpired({ now: new Date(), limit: 10_000 })).toBeGreaterThanOrEqual(1);
      const later = await waitingInstance(stores.commands, scope, target('k8'));
      expect(await take(later.stepRunId)).toEqual({ outcome: 'waiting' });
    });

    const messageTarget = (contact: string, over: Partial<Extract<WaitTarget, { reason: 'message' }>> = {}): WaitTarget => ({
      reason: 'message', channel: 'sms', contact, stepId: 'wait', alsoStartsWorkflows: false, ...over,
    });
    const reply = (contact: string, accepts: (match: MessageWaitMatch) => boolean = () => true) =>
      stores.waits.deliverMessage({ channel: 'sms', contact, now: new Date(), accepts, wake: wake({ text: 'yes' }) });

    it('wakes the steps of every workspace waiting for a message from the sender, those the match accepts, once', async () => {
      const contact = `+1555${Math.floor(Math.random() * 1e7)}`;
      const a = await stores.newScope();
      const b = await stores.newScope();
      const mine = await waitingInstance(stores.commands, a, messageTarget(contact));
      const theirs = await waitingInstance(stores.commands, b, messageTarget(contact, { alsoStartsWorkflows: true, when: { path: 'steps.wait.output.text', op: 'exists' } }));
      const picky = await waitingInstance(stores.commands, a, messageTarget(contact, { stepId: 'picky' }));
      expect([...(await stores.waits.contactsWaiting('sms', [contact, '+10000000000']))]).toEqual([contact]);
      expect([...(await stores.waits.contactsWaiting('whatsapp', [contact]))]).toEqual([]);
      const seen: MessageWaitMatch[] = [];
      const woken = await reply(contact, (match) => (seen.push(match), match.stepId !== 'picky'));
      expect(woken.map((w) => w.stepRunId).sort()).toEqual([mine.stepRunId, theirs.stepRunId].sort());
      expect(woken.find((w) => w.stepRunId === theirs.stepRunId)).toMatchObject({ workspaceId: b.workspaceId, alsoStartsWorkflows: true });
      expect(woken.find((w) => w.stepRunId === mine.stepRunId)).toMatchObject({ workspaceId: a.workspaceId, alsoStartsWorkflows: false });
      expect(seen).toContainEqual({ stepId: 'wait', alsoStartsWorkflows: true, when: { path: 'steps.wait.output.text', op: 'exists' } });
      // Spent: the next message wakes only the one the match refused.
      expect((await reply(contact)).map((w) => w.stepRunId)).toEqual([picky.stepRunId]);
      expect(await reply(contact)).toEqual([]);
      expect(await take(picky.stepRunId)).toEqual({ outcome: 'notWaiting' });
    });

    it('a message wait that still waits is reported waiting, with nothing kept for it', async () => {
      const scope = await stores.newScope();
      const w = await waitingInstance(stores.commands, scope, messageTarget(`+1666${Math.floor(Math.random() * 1e7)}`));
      expect(await take(w.stepRunId)).toEqual({ outcome: 'waiting' });
    });

    it('lets a registration lapse when its step is cancelled', async () => {
      const scope = await stores.newScope();
      const waiting = await waitingInstance(stores.commands, scope, target('k9'));
      const cancelled = await stores.commands.commit({
        instanceId: waiting.instance.id,
        instance: { from: 'WAITING', to: 'CANCELLED', event: 'cancel', patch: { finishedAt: new Date() } },
        steps: [{ stepRunId: waiting.stepRunId, stepId: 'wait', from: 'SCHEDULED', to: 'CANCELLED', event: 'cancel', attempt: 1 }],
      });
      expect(cancelled.ok).toBe(true);
      expect((await stores.commands.loadForExecution(waiting.stepRunId))!.instance.waitReason).toBeNull();
      expect((await send(scope.workspaceId, 'k9', 1)).outcome).toBe('kept');
    });
  });
}
