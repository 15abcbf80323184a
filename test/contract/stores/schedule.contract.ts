import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewSchedule, ScheduleStore } from '../../../src/ports/schedule.store.port.js';
import type { MakeStore, StoreUnderTest } from './store-harness.js';

/** What a suite needs besides the store: the publish's write, and a second process's store. */
export interface ScheduleStoreExtras {
  /** Writes a workflow's schedule as a publish (or an archive, with null) does. */
  setSchedule(scope: { workspaceId: string; workflowId: string }, schedule: NewSchedule | null): Promise<void>;
  /** The same store over connections of its own (another process); the embedded database has one. */
  readonly peer: ScheduleStore;
}

const T0 = new Date('2026-01-01T10:00:00.000Z');
const plus = (ms: number, from = T0) => new Date(from.getTime() + ms);
const schedule = (nextTickAt: Date, version = 1): NewSchedule => ({
  version,
  triggerStepId: 'tick',
  triggerType: 'trigger.schedule',
  config: { cron: '* * * * *', timeZone: 'UTC', missedTicks: 'skip' },
  nextTickAt,
});

/**
 * What every ScheduleStore must do: a schedule found only in its workspace; due schedules claimed
 * by one worker at a time, not again until the claim runs out; a compare-and-set that moves only
 * the tick it claimed, of the version it claimed; the soonest time a claim could succeed.
 * The suite owns its database: claims and `nextDueAt` span the deployment.
 */
export function describeScheduleStoreContract(name: string, make: MakeStore<ScheduleStore, ScheduleStoreExtras>): void {
  describe(`ScheduleStore contract: ${name}`, () => {
    let under: StoreUnderTest<ScheduleStore, ScheduleStoreExtras>;
    let store: ScheduleStore;
    beforeAll(async () => {
      under = await make();
      store = under.store;
    });
    afterAll(async () => {
      await under?.close();
    });
    const claim = (s: ScheduleStore, now: Date, claimMs = 10_000) => s.claimDue({ now, limit: 100, claimMs, owner: 'w' });
    const ids = (rows: readonly { workflowId: string }[]) => rows.map((r) => r.workflowId).sort();

    it('a schedule is found in its own workspace only; a republish replaces it and keeps the newest tick fired; null removes it', async () => {
      const scope = await under.newScope();
      const other = await under.newScope();
      expect(await store.get(scope.workspaceId, scope.workflowId)).toBeUndefined();
      await under.setSchedule(scope, schedule(plus(1_000)));
      expect(await store.get(scope.workspaceId, scope.workflowId)).toMatchObject({ ...schedule(plus(1_000)), workflowId: scope.workflowId, lastTickAt: null });
      expect(await store.get(other.workspaceId, scope.workflowId)).toBeUndefined();
      expect(await store.get(scope.workspaceId, 'not-a-uuid')).toBeUndefined();

      const [claimed] = await claim(store, plus(1_000));
      expect(claimed?.workflowId).toBe(scope.workflowId);
      expect(await store.advance({ workflowId: scope.workflowId, version: 1, from: plus(1_000), next: plus(61_000), firedTick: plus(1_000) })).toBe(true);
      await under.setSchedule(scope, schedule(plus(120_000), 2));
      expect(await store.get(scope.workspaceId, scope.workflowId)).toMatchObject({ version: 2, nextTickAt: plus(120_000), lastTickAt: plus(1_000) });
      await under.setSchedule(scope, null);
      expect(await store.get(scope.workspaceId, scope.workflowId)).toBeUndefined();
    });

    it('claims due schedules only, oldest first, and none twice while the claim holds, from any process', async () => {
      const due = await under.newScope();
      const later = await under.newScope();
      const older = await under.newScope();
      await under.setSchedule(due, schedule(plus(100_000)));
      await under.setSchedule(older, schedule(plus(90_000)));
      await under.setSchedule(later, schedule(plus(200_000)));
      const now = plus(150_000);
      const first = await claim(store, now);
      expect(first.map((r) => r.workflowId)).toEqual([older.workflowId, due.workflowId]);
      expect(await claim(under.peer, now)).toEqual([]);
      expect(await claim(under.peer, plus(9_999, now))).toEqual([]);
      // The claim ran out (its worker died): the next worker takes the same ticks.
      expect(ids(await claim(under.peer, plus(10_000, now)))).toEqual(ids(first));
      for (const s of [due, older, later]) await under.setSchedule(s, null);
    });

    it('two processes claiming at once share out the due schedules: each is claimed once', async () => {
      const scopes = await Promise.all(Array.from({ length: 20 }, () => under.newScope()));
      for (const s of scopes) await under.setSchedule(s, schedule(plus(300_000)));
      const now = plus(300_000);
      const [a, b] = await Promise.all([claim(store, now), claim(under.peer, now)]);
      const all = [...ids(a!), ...ids(b!)];
      expect(all.sort()).toEqual(scopes.map((s) => s.workflowId).sort());
      for (const s of scopes) await under.setSchedule(s, null);
    });

    it('advance moves only the tick it claimed, of the version it claimed, and releases the claim', async () => {
      const scope = await under.newScope();
      await under.setSchedule(scope, schedule(plus(400_000)));
      await claim(store, plus(400_000));
      const id = scope.workflowId;
      expect(await store.advance({ workflowId: id, version: 1, from: plus(399_000), next: plus(460_000) })).toBe(false);
      expect(await store.advance({ workflowId: id, version: 2, from: plus(400_000), next: plus(460_000) })).toBe(false);
      expect(await store.get(scope.workspaceId, id)).toMatchObject({ nextTickAt: plus(400_000), lastTickAt: null });
      expect(await store.advance({ workflowId: id, version: 1, from: plus(400_000), next: plus(460_000), firedTick: plus(400_000) })).toBe(true);
      expect(await store.get(scope.workspaceId, id)).toMatchObject({ nextTickAt: plus(460_000), lastTickAt: plus(400_000) });
      // Released: due again at its next tick, well within the old claim.
      expect(ids(await claim(under.peer, plus(460_000)))).toEqual([id]);
      // Skipped ticks move it on and keep the newest tick fired.
      expect(await store.advance({ workflowId: id, version: 1, from: plus(460_000), next: plus(520_000) })).toBe(true);
      expect(await store.get(scope.workspaceId, id)).toMatchObject({ nextTickAt: plus(520_000), lastTickAt: plus(400_000) });
      // A schedule that never fires again is removed.
      await claim(store, plus(520_000));
      expect(await store.advance({ workflowId: id, version: 1, from: plus(520_000), next: undefined })).toBe(true);
      expect(await store.get(scope.workspaceId, id)).toBeUndefined();
    });

    it('advanceMany moves each claimed tick as advance would, in order, and refuses those that changed', async () => {
      const [a, b, c] = [await under.newScope(), await under.newScope(), await under.newScope()];
      for (const s of [a, b, c]) await under.setSchedule(s, schedule(plus(700_000)));
      await claim(store, plus(700_000));
      const moved = await store.advanceMany([
        { workflowId: a.workflowId, version: 1, from: plus(700_000), next: plus(760_000), firedTick: plus(700_000) },
        { workflowId: b.workflowId, version: 1, from: plus(699_000), next: plus(760_000) },
        { workflowId: c.workflowId, version: 1, from: plus(700_000), next: undefined },
      ]);
      expect(moved).toEqual([true, false, true]);
      expect(await store.get(a.workspaceId, a.workflowId)).toMatchObject({ nextTickAt: plus(760_000), lastTickAt: plus(700_000) });
      expect(await store.get(b.workspaceId, b.workflowId)).toMatchObject({ nextTickAt: plus(700_000), lastTickAt: null });
      expect(await store.get(c.workspaceId, c.workflowId)).toBeUndefined();
      // Released: a's next tick is claimable at once.
      expect(ids(await claim(under.peer, plus(760_000)))).toContain(a.workflowId);
      expect(await store.advanceMany([])).toEqual([]);
      for (const s of [a, b]) await under.setSchedule(s, null);
    });

    it('a republish while a tick is claimed drops the claim, and the old claim can no longer move it', async () => {
      const scope = await under.newScope();
      await under.setSchedule(scope, schedule(plus(600_000)));
      await claim(store, plus(600_000));
      await under.setSchedule(scope, schedule(plus(600_000), 2));
      expect(ids(await claim(under.peer, plus(600_000)))).toEqual([scope.workflowId]);
      expect(await store.advance({ workflowId: scope.workflowId, version: 1, from: plus(600_000), next: plus(660_000) })).toBe(false);
      expect(await store.advance({ workflowId: scope.workflowId, version: 2, from: plus(600_000), next: plus(660_000) })).toBe(true);
      await under.setSchedule(scope, null);
    });

    it('nextDueAt is the soonest tick, or the end of a claim on a due one; undefined without schedules', async () => {
      expect(await store.nextDueAt()).toBeUndefined();
      const soon = await under.newScope();
      const claimed = await under.newScope();
      await under.setSchedule(soon, schedule(plus(800_000)));
      await under.setSchedule(claimed, schedule(plus(700_000)));
      expect(await store.nextDueAt()).toEqual(plus(700_000));
      await claim(store, plus(700_000), 30_000);
      expect(await under.peer.nextDueAt()).toEqual(plus(730_000));
      await under.setSchedule(claimed, null);
      expect(await store.nextDueAt()).toEqual(plus(800_000));
      await under.setSchedule(soon, null);
    });
  });
}
