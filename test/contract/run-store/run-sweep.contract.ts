import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimFirst, newInstance, type MakeRunStores, type RunStores } from './run-store-harness.js';

/** What every RunSweepStore must do: find due work without a job once, and leases that have run out. */
export function describeRunSweepContract(name: string, make: MakeRunStores): void {
  describe(`RunSweepStore contract: ${name}`, () => {
    let stores: RunStores & { close(): Promise<void> };
    beforeAll(async () => {
      stores = await make();
    });
    afterAll(async () => {
      await stores?.close();
    });

    it('claims overdue work once: concurrent sweeps never take the same step run', async () => {
      const scope = await stores.newScope();
      const made = await Promise.all(Array.from({ length: 6 }, () => newInstance(stores.commands, scope)));
      const ids = new Set(made.map((m) => m.stepRunId));
      await new Promise((resolve) => setTimeout(resolve, 5));
      // As the sweep asks: due and last enqueued before a moment ago (its grace), so that a claim's
      // own "enqueued now" takes a step run out of every later or concurrent claim.
      const before = new Date(Date.now() - 1);
      // Other tests' step runs may be due too: keep only ours.
      const claims = await Promise.all([1, 2, 3].map(() => stores.sweep.claimOverdue({ dueBefore: before, enqueuedBefore: before, limit: 10_000 })));
      const ours = claims.map((c) => c.filter((r) => ids.has(r.id)).map((r) => r.id));
      expect(ours.flat().sort()).toEqual([...ids].sort());
      // Claimed means enqueued now: the same question again finds none of it.
      const again = await stores.sweep.claimOverdue({ dueBefore: before, enqueuedBefore: before, limit: 10_000 });
      expect(again.filter((r) => ids.has(r.id))).toEqual([]);
    });

    it('lists running step runs whose lease has run out by the store clock, not the others', async () => {
      const scope = await stores.newScope();
      const expired = await newInstance(stores.commands, scope);
      const held = await newInstance(stores.commands, scope);
      const e = await claimFirst(stores.commands, expired.instance, expired.stepRunId, { leaseMs: 1 });
      await claimFirst(stores.commands, held.instance, held.stepRunId, { leaseMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const found = (await stores.sweep.expiredLeases({ limit: 10_000 })).filter((r) => r.instanceId === expired.instance.id || r.instanceId === held.instance.id);
      expect(found.map((r) => [r.id, r.fence, r.leaseOwner])).toEqual([[expired.stepRunId, e.fence, 'worker-a']]);
    });
  });
}
