import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../../src/domain/json.js';
import { triggerInputMatches, type TriggerInputMatch } from '../../../src/domain/trigger-input-match.js';
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
      // Made one after another, so newest first is the reverse of the making order. (Sorting by the
      // returned Date would tie two instances made in the same millisecond that the store, at
      // microseconds, orders.)
      expect(seen).toEqual(made.map((m) => m.instance.id).reverse());
      const running = await stores.queries.listInstances(scope.workspaceId, { workflowId: scope.workflowId, status: 'RUNNING' }, { first: 10 });
      expect(running.items.map((e) => e.node.id)).toEqual([made[1]!.instance.id]);
      expect(await stores.queries.countByStatus(scope.workflowId)).toEqual({ PENDING: 4, RUNNING: 1 });
      const foreign = await stores.queries.listInstances((await stores.newScope()).workspaceId, { workflowId: scope.workflowId }, { first: 10 });
      expect(foreign.items).toEqual([]);
    });

    it('filters by a trigger-input path: the JSON scalar at exactly those object keys', async () => {
      const scope = await stores.newScope();
      // Each input with the matches it must (and must not) be found by.
      const inputs: Record<string, JsonValue> = {
        plain: { message: { id: 'SM1', from: '+15550100' } },
        extra: { message: { id: 'SM1', text: 'hi', meta: { deep: true } }, other: 'x' },
        otherId: { message: { id: 'SM2' } },
        number: { message: { id: 1 } },
        numericText: { message: { id: '1' } },
        flag: { message: { id: false } },
        nullId: { message: { id: null } },
        arrayOnPath: { message: [{ id: 'SM1' }] },
        arrayValue: { message: { id: ['SM1'] } },
        dottedKey: { 'message.id': 'SM1' },
        indexKey: { items: { '0': 'a' } },
        arrayItems: { items: ['a'] },
        rootArray: [{ message: { id: 'SM1' } }],
        quoted: { 'say "hi"': { 'ключ\\': 'ü €' } },
        prefix: { message: { id: 'SM10' } },
      };
      const made = new Map<string, string>();
      for (const [name, input] of Object.entries(inputs)) made.set((await newInstance(stores.commands, scope, { input })).instance.id, name);
      const find = async (match: TriggerInputMatch, workspaceId = scope.workspaceId) => {
        const page = await stores.queries.listInstances(workspaceId, { workflowId: scope.workflowId, triggerInput: match }, { first: 50 });
        expect(page.totalCount).toBe(page.items.length);
        return page.items.map((e) => made.get(e.node.id)).sort();
      };
      const cases: [TriggerInputMatch, string[]][] = [
        [{ path: ['message', 'id'], equals: 'SM1' }, ['extra', 'plain']],
        [{ path: ['message', 'id'], equals: 'SM2' }, ['otherId']],
        [{ path: ['message', 'id'], equals: 1 }, ['number']],
        [{ path: ['message', 'id'], equals: '1' }, ['numericText']],
        [{ path: ['message', 'id'], equals: false }, ['flag']],
        [{ path: ['message', 'meta', 'deep'], equals: true }, ['extra']],
        [{ path: ['other'], equals: 'x' }, ['extra']],
        [{ path: ['message.id'], equals: 'SM1' }, ['dottedKey']],
        [{ path: ['items', '0'], equals: 'a' }, ['indexKey']],
        [{ path: ['say "hi"', 'ключ\\'], equals: 'ü €' }, ['quoted']],
        [{ path: ['message', 'id'], equals: 'SM' }, []],
        [{ path: ['message'], equals: 'SM1' }, []],
        [{ path: ['message', 'id', 'x'], equals: 'SM1' }, []],
      ];
      for (const [match, expected] of cases) {
        expect(await find(match), JSON.stringify(match)).toEqual(expected);
        // The domain's meaning of a match, which a fake would use, says the same.
        const meant = Object.entries(inputs).filter(([, input]) => triggerInputMatches(input, match)).map(([name]) => name);
        expect(meant.sort(), JSON.stringify(match)).toEqual(expected);
      }
      // Scoped by workspace: the same instances are not another workspace's, nor are its alike inputs ours.
      const other = await stores.newScope();
      await newInstance(stores.commands, other, { input: inputs.plain! });
      expect(await find({ path: ['message', 'id'], equals: 'SM1' }, other.workspaceId)).toEqual([]);
      expect(await find({ path: ['message', 'id'], equals: 'SM1' })).toEqual(['extra', 'plain']);
    });

    it('a trigger-input filter pages like the whole list, newest first, and combines with status', async () => {
      const scope = await stores.newScope();
      const match: TriggerInputMatch = { path: ['message', 'id'], equals: 'SM-paged' };
      const matching = [];
      for (let i = 0; i < 5; i++) {
        matching.push(await newInstance(stores.commands, scope, { input: { message: { id: 'SM-paged', n: i } } }));
        await newInstance(stores.commands, scope, { input: { message: { id: `SM-other-${i}` } } });
      }
      await claimFirst(stores.commands, matching[2]!.instance, matching[2]!.stepRunId);
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await stores.queries.listInstances(
          scope.workspaceId,
          { workflowId: scope.workflowId, triggerInput: match },
          { first: 2, ...(after ? { after } : {}) },
        );
        expect(page.totalCount).toBe(5);
        seen.push(...page.items.map((e) => e.node.id));
        if (!page.hasNextPage) break;
        after = page.items.at(-1)!.cursor;
      }
      // Made one after another: newest first is the reverse of the making order.
      expect(seen).toEqual(matching.map((m) => m.instance.id).reverse());
      const running = await stores.queries.listInstances(
        scope.workspaceId,
        { workflowId: scope.workflowId, status: 'RUNNING', triggerInput: match },
        { first: 10 },
      );
      expect(running.items.map((e) => e.node.id)).toEqual([matching[2]!.instance.id]);
      expect(running.totalCount).toBe(1);
      const pending = await stores.queries.listInstances(
        scope.workspaceId,
        { workflowId: scope.workflowId, status: 'PENDING', triggerInput: match },
        { first: 10 },
      );
      expect(pending.totalCount).toBe(4);
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
