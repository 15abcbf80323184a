import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimFirst, newInstance, type MakeRunStores, type RunStores } from './run-store-harness.js';

/** What every RunQueryStore must do: reads scoped to the caller's workspace, pages that add up to the whole. */
export function describeRunQueryContract(name: string, make: MakeRunStores): void {
  describe(`RunQueryStore contract: ${name}`, () => {
    let stores: RunStores & { close(): Promise<void> };
    beforeAll(async () => {
      stores = await make();
    });
    afterAll(async () => {
      await stores?.close();
    });

    it('finds an instance only in its own workspace', async () => {
      const scope = await stores.newScope();
      const other = await stores.newScope();
      const { instance } = await newInstance(stores.commands, scope);
      expect(await stores.queries.getInstance(scope.workspaceId, instance.id)).toEqual(instance);
      expect(await stores.queries.getInstance(other.workspaceId, instance.id)).toBeUndefined();
      expect(await stores.queries.getInstance(scope.workspaceId, randomUUID())).toBeUndefined();
      expect(await stores.queries.getInstance(scope.workspaceId, 'not-a-uuid')).toBeUndefined();
    });

    it('lists a workflow instances newest first, page by page, filtered by status, with counts', async () => {
      const scope = await stores.newScope();
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await newInstance(stores.commands, scope));
      await claimFirst(stores.commands, made[1]!.instance, made[1]!.stepRunId);
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await stores.queries.listInstances(scope.workspaceId, { workflowId: scope.workflowId }, { first: 2, ...(after ? { after } : {}) });
        expect(page.totalCount).toBe(5);
        seen.push(...page.items.map((e) => e.node.id));
        if (!page.hasNextPage) break;
        after = page.items.at(-1)!.cursor;
      }
      // Newest first by creation time; instances made in the same instant come in id order.
      const newestFirst = [...made]
        .map((m) => m.instance)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
        .map((i) => i.id);
      expect(seen).toEqual(newestFirst);
      const running = await stores.queries.listInstances(scope.workspaceId, { workflowId: scope.workflowId, status: 'RUNNING' }, { first: 10 });
      expect(running.items.map((e) => e.node.id)).toEqual([made[1]!.instance.id]);
      expect(await stores.queries.countByStatus(scope.workflowId)).toEqual({ PENDING: 4, RUNNING: 1 });
      const foreign = await stores.queries.listInstances((await stores.newScope()).workspaceId, { workflowId: scope.workflowId }, { first: 10 });
      expect(foreign.items).toEqual([]);
    });

    it('step runs of an instance in creation order; the active ones; the newest failed one', async () => {
      const scope = await stores.newScope();
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      const held = await claimFirst(stores.commands, instance, stepRunId);
      expect((await stores.queries.activeStepRuns(instance.id)).map((r) => r.id)).toEqual([stepRunId]);
      await stores.commands.commit({
        instanceId: instance.id,
        instance: { from: 'RUNNING', to: 'FAILED', event: 'fail' },
        steps: [{ stepRunId, stepId: 'a', from: 'RUNNING', to: 'FAILED', event: 'fail', attempt: 1, fence: held.fence, patch: { error: { message: 'no', retryable: false } } }],
      });
      expect(await stores.queries.activeStepRuns(instance.id)).toEqual([]);
      expect(await stores.queries.failedStepRun(instance.id)).toMatchObject({ id: stepRunId, error: { message: 'no' } });
      expect((await stores.queries.listStepRuns(instance.id)).map((r) => r.stepId)).toEqual(['a']);
    });

    it('an instance event log from a seq, in pages', async () => {
      const scope = await stores.newScope();
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      await claimFirst(stores.commands, instance, stepRunId);
      expect((await stores.queries.listEvents(instance.id, { afterSeq: 0, first: 10 })).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect((await stores.queries.listEvents(instance.id, { afterSeq: 2, first: 1 })).map((e) => e.seq)).toEqual([3]);
      expect(await stores.queries.listEvents(instance.id, { afterSeq: 4, first: 10 })).toEqual([]);
    });

    it("a step run's events in log order, without the instance's; only those of the step runs asked for", async () => {
      const scope = await stores.newScope();
      const { instance, stepRunId } = await newInstance(stores.commands, scope);
      await claimFirst(stores.commands, instance, stepRunId);
      const story = (events: readonly { seq: number; event: string; stepRunId: string | null }[]) =>
        events.map((e) => [e.seq, e.event, e.stepRunId]);
      expect(story(await stores.queries.listStepRunEvents(instance.id))).toEqual([
        [2, 'schedule', stepRunId],
        [4, 'start', stepRunId],
      ]);
      expect(story(await stores.queries.listStepRunEvents(instance.id, [stepRunId]))).toEqual(story(await stores.queries.listStepRunEvents(instance.id)));
      expect(await stores.queries.listStepRunEvents(instance.id, [randomUUID()])).toEqual([]);
      expect(await stores.queries.listStepRunEvents(instance.id, ['not-a-uuid'])).toEqual([]);
      expect(await stores.queries.listStepRunEvents(instance.id, [])).toEqual([]);
      // Another instance's log is not read.
      const other = await newInstance(stores.commands, scope);
      expect(await stores.queries.listStepRunEvents(other.instance.id, [stepRunId])).toEqual([]);
    });
  });
}
