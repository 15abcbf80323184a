import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimFirst, failedInstance, newInstance, type MakeRunStores, type RunStores } from './run-store-harness.js';

/**
 * What every RunSweepStore must do: find due work without a job once, leases that have run out,
 * and failures whose handler run is missing.
 */
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
  
    it('lists failures in the window whose version names a handler and whose handler run is missing, oldest first, up to the limit', async () => {
      const now = Date.now();
      const ago = (ms: number) => new Date(now - ms);
      const scope = await stores.newScope();
      const handlerId = await stores.nameFailureHandler(scope);
      const oldest = await failedInstance(stores.commands, scope, { failedAt: ago(50_000) });
      const older = await failedInstance(stores.commands, scope, { failedAt: ago(40_000) });
      const handled = await failedInstance(stores.commands, scope, { failedAt: ago(30_000) });
      const recent = await failedInstance(stores.commands, scope, { failedAt: ago(1_000) });
      const tooOld = await failedInstance(stores.commands, scope, { failedAt: ago(120_000) });
      // A handler's own run that failed starts no handler.
      const handlerRunFailed = await failedInstance(stores.commands, scope, {
        failedAt: ago(30_000),
        idempotency: { source: 'failure-handler', key: 'some-other:1' },
      });
      const running = await newInstance(stores.commands, scope);
      await claimFirst(stores.commands, running.instance, running.stepRunId);
      // Its handler run exists: key `<id>:<eventSeq>` from source failure-handler, on the handler.
      await newInstance(stores.commands, { workspaceId: scope.workspaceId, workflowId: handlerId }, {
        idempotency: { source: 'failure-handler', key: `${handled.id}:${handled.eventSeq}` },
      });
      // The same key from another source is not the handler's run.
      await newInstance(stores.commands, { workspaceId: scope.workspaceId, workflowId: handlerId }, {
        idempotency: { source: 'graphql', key: `${older.id}:${older.eventSeq}` },
      });
      // A version without a handler: its failures need none.
      const plain = await stores.newScope();
      const unwatched = await failedInstance(stores.commands, plain, { failedAt: ago(30_000) });

      const window = { failedAfter: ago(60_000), failedBefore: ago(10_000) };
      const ours = new Set([oldest, older, handled, recent, tooOld, handlerRunFailed, running.instance, unwatched].map((i) => i.id));
      // Other tests' failures may be listed too: keep only ours.
      const found = (await stores.sweep.unhandledFailures({ ...window, limit: 10_000 })).filter((i) => ours.has(i.id));
      expect(found.map((i) => i.id)).toEqual([oldest.id, older.id]);
      expect(found[0]).toMatchObject({ status: 'FAILED', eventSeq: oldest.eventSeq, workspaceId: scope.workspaceId, error: { stepId: 'a', reason: 'down' } });

      // Once its handler run exists, a failure is no longer listed.
      await newInstance(stores.commands, { workspaceId: scope.workspaceId, workflowId: handlerId }, {
        idempotency: { source: 'failure-handler', key: `${oldest.id}:${oldest.eventSeq}` },
      });
      const after = (await stores.sweep.unhandledFailures({ ...window, limit: 10_000 })).filter((i) => ours.has(i.id));
      expect(after.map((i) => i.id)).toEqual([older.id]);
      // The limit bounds a pass; a window holding only our failure shows it is honoured.
      const one = await stores.sweep.unhandledFailures({ failedAfter: ago(45_000), failedBefore: ago(35_000), limit: 1 });
      expect(one).toHaveLength(1);
      expect(await stores.sweep.unhandledFailures({ ...window, limit: 0 })).toEqual([]);
    });
  });
}
