import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EditOp } from '../../../src/domain/edit-op.js';
import type { Edge, Step } from '../../../src/domain/graph.js';
import type { Page } from '../../../src/ports/page.js';
import type { InstanceStatus } from '../../../src/domain/run-state-machine.js';
import type { DraftSession, WorkflowRecord, WorkflowStore } from '../../../src/ports/workflow.store.port.js';
import type { MakeStore, StoreUnderTest } from './store-harness.js';

/** What the suite needs besides the store: runs of a workflow, which another store writes. */
export interface WorkflowStoreExtras {
  /** Stores an instance of a published version of the workflow in this status; answers its id. */
  addInstance(workflow: Pick<WorkflowRecord, 'workspaceId' | 'id'>, run: { version: number; status: InstanceStatus }): Promise<string>;
}

const step = (id: string, config: Step['config'] = { n: id }): Step => ({ id, type: 'contract.step', name: `Step ${id}`, config, position: { x: 1, y: 2 } });
const insertSteps = (...ids: string[]): EditOp[] => ids.map((id) => ({ op: 'insertStep', step: step(id) }));
const insertEdges = (...edges: Edge[]): EditOp[] => edges.map((edge) => ({ op: 'insertEdge', edge }));

/** Every item of a list, page by page of `size`. */
async function allPages<T>(read: (after: string | undefined) => Promise<Page<T>>, size: number): Promise<{ nodes: T[]; totals: number[] }> {
  const nodes: T[] = [];
  const totals: number[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await read(after);
    expect(page.items.length).toBeLessThanOrEqual(size);
    totals.push(page.totalCount);
    nodes.push(...page.items.map((i) => i.node));
    if (!page.hasNextPage) return { nodes, totals };
    after = page.items.at(-1)!.cursor;
  }
}

/**
 * What every WorkflowStore must do: workflows found only in their own workspace, lists in a stable
 * order whose pages add up to the whole, draft sessions that commit all or nothing one at a time,
 * history kept to its depth, versions immutable and listed newest first; a deletion that takes
 * everything of the workflow and nothing of its siblings, refused while runs are in progress; the
 * workflows that would start one as their failure handler.
 */
export function describeWorkflowStoreContract(name: string, make: MakeStore<WorkflowStore, WorkflowStoreExtras>): void {
  describe(`WorkflowStore contract: ${name}`, () => {
    let under: StoreUnderTest<WorkflowStore, WorkflowStoreExtras>;
    let store: WorkflowStore;
    beforeAll(async () => {
      under = await make();
      store = under.store;
    });
    afterAll(async () => {
      await under?.close();
    });

    /** A new workflow in a workspace of its own. */
    async function newWorkflow() {
      const { workspaceId } = await under.newScope();
      return store.create({ workspaceId, name: 'contract', description: 'made by the contract' });
    }

    it('creates a draft workflow found only in its own workspace', async () => {
      const workflow = await newWorkflow();
      expect(workflow).toMatchObject({ name: 'contract', description: 'made by the contract', status: 'DRAFT', draftRevision: 0, historyHead: 0, stepCount: 0, latestVersion: null });
      expect(await store.get(workflow.workspaceId, workflow.id)).toEqual(workflow);
      const other = await under.newScope();
      expect(await store.get(other.workspaceId, workflow.id)).toBeUndefined();
      expect(await store.get(workflow.workspaceId, randomUUID())).toBeUndefined();
      expect(await store.get(workflow.workspaceId, 'not-a-uuid')).toBeUndefined();
    });

    it('lists a workspace workflows newest first, page by page, filtered by status', async () => {
      const { workspaceId } = await under.newScope();
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await store.create({ workspaceId, name: `w${i}`, description: '' }));
      await store.withDraft(workspaceId, made[2]!.id, (s) => s.updateHead({ status: 'ACTIVE' }));
      const { nodes, totals } = await allPages((after) => store.list(workspaceId, {}, { first: 2, ...(after ? { after } : {}) }), 2);
      // The scope's own workflow (made by newScope) is the oldest.
      expect(new Set(totals)).toEqual(new Set([6]));
      // Newest first. Made one after another (the scope's own first), so the reverse of the making
      // order, except where two were made at the same stored time (the embedded database's clock
      // can tie them): those follow the id, which a Date, at milliseconds, cannot check.
      expect(nodes).toHaveLength(6);
      const ids = new Set(made.map((w) => w.id));
      expect(nodes.filter((w) => ids.has(w.id))).toHaveLength(5);
      const madeAt = new Map<string, number>(made.map((w, i) => [w.id, i]));
      const order = (id: string) => madeAt.get(id) ?? -1;
      for (let i = 1; i < nodes.length; i++) {
        const [newer, older] = [nodes[i - 1]!, nodes[i]!];
        expect(newer.createdAt.getTime()).toBeGreaterThanOrEqual(older.createdAt.getTime());
        if (order(newer.id) < order(older.id)) expect(newer.createdAt.getTime(), 'only a tie puts an older one first').toBe(older.createdAt.getTime());
      }
      const active = await store.list(workspaceId, { status: 'ACTIVE' }, { first: 10 });
      expect(active).toMatchObject({ totalCount: 1, hasNextPage: false });
      expect(active.items.map((i) => i.node.id)).toEqual([made[2]!.id]);
      expect((await store.list((await under.newScope()).workspaceId, { status: 'ACTIVE' }, { first: 10 })).items).toEqual([]);
    });

    it('a draft session of another workspace or an unknown workflow is NOT_FOUND', async () => {
      const workflow = await newWorkflow();
      const other = await under.newScope();
      for (const [workspaceId, id] of [[other.workspaceId, workflow.id], [workflow.workspaceId, randomUUID()], [workflow.workspaceId, 'nope']] as const) {
        await expect(store.withDraft(workspaceId, id, async () => 'entered')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      }
    });

    it('a draft session commits all its changes, or none when it throws', async () => {
      const workflow = await newWorkflow();
      await store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
        await s.applyOps([...insertSteps('a', 'b'), ...insertEdges({ from: 'a', port: 'next', to: 'b' })]);
        await s.updateHead({ draftRevision: 1, stepCountDelta: 2 });
      });
      await expect(
        store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
          await s.applyOps([...insertSteps('c'), { op: 'deleteEdge', edge: { from: 'a', port: 'next', to: 'b' } }]);
          await s.updateHead({ draftRevision: 2, stepCountDelta: 1 });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await store.get(workflow.workspaceId, workflow.id)).toMatchObject({ draftRevision: 1, stepCount: 2 });
      expect(await store.loadGraph(workflow.id)).toEqual({ steps: [step('a'), step('b')], edges: [{ from: 'a', port: 'next', to: 'b' }] });
    });

    it('draft sessions of one workflow run one at a time', async () => {
      const workflow = await newWorkflow();
      // Each session reads the revision and writes it plus one: without the lock, two would write the same.
      const bump = () =>
        store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
          const seen = s.workflow.draftRevision;
          await s.loadGraph();
          return s.updateHead({ draftRevision: seen + 1 });
        });
      await Promise.all(Array.from({ length: 5 }, bump));
      expect((await store.get(workflow.workspaceId, workflow.id))?.draftRevision).toBe(5);
    });

    it('loads steps with the edges that touch them; patches and deletes apply row by row', async () => {
      const workflow = await newWorkflow();
      const edges: Edge[] = [{ from: 'a', port: 'next', to: 'b' }, { from: 'b', port: 'next', to: 'c' }];
      await store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
        await s.applyOps([...insertSteps('a', 'b', 'c'), ...insertEdges(...edges)]);
        const loaded = await s.loadSteps(['b', 'missing']);
        expect(loaded.steps).toEqual([step('b')]);
        expect(new Set(loaded.edges.map((e) => `${e.from}>${e.to}`))).toEqual(new Set(['a>b', 'b>c']));
        await s.applyOps([
          { op: 'patchStep', id: 'a', before: { name: 'Step a' }, after: { name: 'Renamed', config: { n: 'new' } } },
          { op: 'deleteEdge', edge: edges[1]! },
          { op: 'deleteStep', step: step('c') },
        ]);
      });
      expect(await store.getSteps(workflow.id, ['a', 'c'])).toEqual([{ ...step('a'), name: 'Renamed', config: { n: 'new' } }]);
      expect((await store.readStepConfigs(workflow.id, ['a', 'b', 'zzz'])).get('a')).toEqual({ n: 'new' });
      expect([...(await store.readStepConfigs(workflow.id, ['a', 'b', 'zzz'])).keys()].sort()).toEqual(['a', 'b']);
      expect(await store.readStepConfigs(workflow.id, [])).toEqual(new Map());
      expect(await store.getSteps(workflow.id, [])).toEqual([]);
      expect((await store.loadGraph(workflow.id)).edges).toEqual([edges[0]]);
    });

    it('lists steps in insertion order and edges by (from, port), page by page; configBytes weighs a config', async () => {
      const workflow = await newWorkflow();
      const ids = ['s3', 's1', 's4', 's0', 's2'];
      const edges: Edge[] = [
        { from: 's3', port: 'b', to: 's1' },
        { from: 's1', port: 'a', to: 's4' },
        { from: 's3', port: 'a', to: 's0' },
      ];
      await store.withDraft(workflow.workspaceId, workflow.id, (s) => s.applyOps([...insertSteps(...ids), ...insertEdges(...edges)]));
      const steps = await allPages((after) => store.listSteps(workflow.id, { first: 2, ...(after ? { after } : {}) }), 2);
      expect(steps.nodes.map((s) => s.id)).toEqual(ids);
      expect(new Set(steps.totals)).toEqual(new Set([5]));
      // As JSON text, give or take the separators' spaces (jsonb prints `{"n": "s3"}`).
      const compact = JSON.stringify({ n: 's3' }).length;
      expect(steps.nodes[0]).toEqual({ id: 's3', type: 'contract.step', name: 'Step s3', position: { x: 1, y: 2 }, configBytes: expect.any(Number) });
      expect(steps.nodes[0]!.configBytes).toBeGreaterThanOrEqual(compact);
      expect(steps.nodes[0]!.configBytes).toBeLessThanOrEqual(compact + 4);
      expect(steps.nodes[0]).not.toHaveProperty('config');
      const listed = await allPages((after) => store.listEdges(workflow.id, { first: 2, ...(after ? { after } : {}) }), 2);
      expect(listed.nodes).toEqual([edges[1], edges[2], edges[0]]);
      expect(await store.listSteps(randomUUID(), { first: 5 })).toEqual({ items: [], hasNextPage: false, totalCount: 0 });
    });

    it('history: a new entry drops what could be redone, and the history keeps its depth', async () => {
      const workflow = await newWorkflow();
      const push = (head: number, label: string) =>
        store.withDraft(workflow.workspaceId, workflow.id, (s) =>
          s.pushHistory({ head, depth: 3, label, forward: insertSteps(label), inverse: [], actorKeyId: null }, { draftRevision: head + 1 }),
        );
      for (let i = 0; i < 4; i++) expect((await push(i, `e${i}`)).historyHead).toBe(i + 1);
      // Depth 3: entry 1 is gone, 2..4 are kept, newest first.
      expect((await store.listHistory(workflow.id, { first: 10 })).items.map((i) => i.node.seq)).toEqual([4, 3, 2]);
      expect(await store.hasHistoryEntry(workflow.id, 1)).toBe(false);
      expect(await store.hasHistoryEntry(workflow.id, 0)).toBe(false);
      await store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
        expect(await s.historyEntry(3)).toMatchObject({ seq: 3, label: 'e2', forward: insertSteps('e2'), hasPrevious: true, hasNext: true });
        expect(await s.historyEntry(4)).toMatchObject({ hasNext: false });
        expect(await s.historyEntry(2)).toMatchObject({ hasPrevious: false });
        expect(await s.historyEntry(9)).toBeUndefined();
      });
      // Undo twice (the head moves back to 2), then a new edit: entries 3 and 4 could have been redone and are dropped.
      await store.withDraft(workflow.workspaceId, workflow.id, (s) => s.updateHead({ historyHead: 2 }));
      expect((await push(2, 'new')).historyHead).toBe(3);
      const listed = await allPages((after) => store.listHistory(workflow.id, { first: 1, ...(after ? { after } : {}) }), 1);
      expect(listed.nodes.map((e) => [e.seq, e.label])).toEqual([[3, 'new'], [2, 'e1']]);
      expect(listed.nodes[0]).not.toHaveProperty('forward');
      expect(await store.hasHistoryEntry(workflow.id, 4)).toBe(false);
    });

    it('workflow settings: off for a new workflow, changed by patchWorkflow ops, and each version keeps those it was inserted with', async () => {
      const workflow = await newWorkflow();
      expect(workflow).toMatchObject({ failureHandlerWorkflowId: null, repliesAlsoStartWorkflows: false });
      const graph = { steps: [step('t')], edges: [] };
      const insert = (s: DraftSession, version: number) =>
        s.insertVersion({ workflowId: workflow.id, version, graph, draftRevision: version, publishedBy: null, failureHandlerWorkflowId: null, repliesAlsoStartWorkflows: s.workflow.repliesAlsoStartWorkflows });
      await store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
        await s.applyOps([{ op: 'patchWorkflow', before: { repliesAlsoStartWorkflows: false }, after: { repliesAlsoStartWorkflows: true } }]);
      });
      expect(await store.get(workflow.workspaceId, workflow.id)).toMatchObject({ repliesAlsoStartWorkflows: true, name: 'contract' });
      await store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
        expect(await insert(s, 1)).toMatchObject({ version: 1, repliesAlsoStartWorkflows: true });
        await s.applyOps([{ op: 'patchWorkflow', before: { repliesAlsoStartWorkflows: true }, after: { repliesAlsoStartWorkflows: false } }]);
      });
      await store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
        expect(s.workflow.repliesAlsoStartWorkflows).toBe(false);
        await insert(s, 2);
      });
      expect((await store.getVersion(workflow.id, 1))?.repliesAlsoStartWorkflows).toBe(true);
      expect((await store.getVersionHead(workflow.id, 1))?.repliesAlsoStartWorkflows).toBe(true);
      const both = await store.getVersions([1, 2].map((version) => ({ workflowId: workflow.id, version })));
      expect(new Map(both.map((v) => [v.version, v.repliesAlsoStartWorkflows]))).toEqual(new Map([[1, true], [2, false]]));
    });

    it('versions are read whole or as heads and listed newest first; an unknown version is undefined', async () => {
      const workflow = await newWorkflow();
      const graphs = [1, 2, 3].map((v) => ({ steps: [step(`v${v}`)], edges: [] }));
      await store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
        for (const [i, graph] of graphs.entries()) {
          const made = await s.insertVersion({ workflowId: workflow.id, version: i + 1, graph, draftRevision: i, publishedBy: null, failureHandlerWorkflowId: null, repliesAlsoStartWorkflows: false });
          expect(made).toMatchObject({ version: i + 1, graph });
        }
        expect((await s.getVersion(2))?.graph).toEqual(graphs[1]);
        expect(await s.getVersion(7)).toBeUndefined();
        await s.updateHead({ latestVersion: 3, status: 'ACTIVE' });
      });
      expect(await store.get(workflow.workspaceId, workflow.id)).toMatchObject({ latestVersion: 3, status: 'ACTIVE' });
      expect((await store.getVersion(workflow.id, 1))?.graph).toEqual(graphs[0]);
      expect(await store.readVersionGraph(workflow.id, 3)).toEqual(graphs[2]);
      const head = await store.getVersionHead(workflow.id, 2);
      expect(head).toMatchObject({ workflowId: workflow.id, version: 2, draftRevision: 1, graphBytes: expect.any(Number) });
      expect(head).not.toHaveProperty('graph');
      const listed = await allPages((after) => store.listVersions(workflow.id, { first: 2, ...(after ? { after } : {}) }), 2);
      expect(listed.nodes.map((v) => v.version)).toEqual([3, 2, 1]);
      expect(new Set(listed.totals)).toEqual(new Set([3]));
      const reads = [
        (id: string, v: number) => store.getVersion(id, v),
        (id: string, v: number) => store.getVersionHead(id, v),
        (id: string, v: number) => store.readVersionGraph(id, v),
      ];
      for (const read of reads) {
        expect(await read(workflow.id, 9)).toBeUndefined();
        expect(await read(randomUUID(), 1)).toBeUndefined();
      }
      const many = await store.getVersions([
        { workflowId: workflow.id, version: 3 },
        { workflowId: workflow.id, version: 1 },
        { workflowId: workflow.id, version: 9 },
        { workflowId: randomUUID(), version: 1 },
      ]);
      expect(many.map((v) => v.version).sort()).toEqual([1, 3]);
      expect(many.find((v) => v.version === 3)?.graph).toEqual(graphs[2]);
      expect(await store.getVersions([])).toEqual([]);
    });

    /** A published workflow (one version) of the given workspace, naming `handler` as its failure handler. */
    async function publishedIn(workspaceId: string, name: string, handler: string | null = null): Promise<WorkflowRecord> {
      const made = await store.create({ workspaceId, name, description: '' });
      return store.withDraft(workspaceId, made.id, async (s) => {
        await s.insertVersion({ workflowId: made.id, version: 1, graph: { steps: [step('t')], edges: [] }, draftRevision: 1, publishedBy: null, failureHandlerWorkflowId: handler, repliesAlsoStartWorkflows: false });
        return s.updateHead({ status: 'ACTIVE', latestVersion: 1, failureHandlerWorkflowId: handler });
      });
    }

    it('deleteWorkflow takes the workflow with its draft, history, versions and schedule, and leaves its siblings be', async () => {
      const workflow = await newWorkflow();
      const sibling = await store.create({ workspaceId: workflow.workspaceId, name: 'sibling', description: '' });
      for (const wf of [workflow, sibling]) {
        await store.withDraft(wf.workspaceId, wf.id, async (s) => {
          await s.applyOps([...insertSteps('a', 'b'), ...insertEdges({ from: 'a', port: 'next', to: 'b' })]);
          await s.pushHistory({ head: 0, depth: 10, label: 'built', forward: insertSteps('a', 'b'), inverse: [], actorKeyId: null }, { draftRevision: 1, stepCountDelta: 2 });
          await s.insertVersion({ workflowId: wf.id, version: 1, graph: { steps: [step('a')], edges: [] }, draftRevision: 1, publishedBy: null, failureHandlerWorkflowId: null, repliesAlsoStartWorkflows: false });
          await s.setSchedule({ version: 1, triggerStepId: 'a', triggerType: 'contract.step', config: {}, nextTickAt: new Date('2026-01-01T00:00:00Z') });
          await s.updateHead({ status: 'ACTIVE', latestVersion: 1 });
        });
      }
      await under.addInstance(workflow, { version: 1, status: 'COMPLETED' });
      await under.addInstance(workflow, { version: 1, status: 'CANCELLED' });

      const result = await store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
        expect(await s.getSchedule()).toBeDefined();
        return s.deleteWorkflow();
      });
      expect(result).toEqual({ deleted: true, instances: 2 });
      expect(await store.get(workflow.workspaceId, workflow.id)).toBeUndefined();
      await expect(store.withDraft(workflow.workspaceId, workflow.id, async () => 'entered')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await store.loadGraph(workflow.id)).toEqual({ steps: [], edges: [] });
      expect((await store.listHistory(workflow.id, { first: 10 })).totalCount).toBe(0);
      expect((await store.listVersions(workflow.id, { first: 10 })).totalCount).toBe(0);
      expect(await store.getVersion(workflow.id, 1)).toBeUndefined();

      expect(await store.get(sibling.workspaceId, sibling.id)).toMatchObject({ stepCount: 2, latestVersion: 1, status: 'ACTIVE' });
      expect((await store.loadGraph(sibling.id)).edges).toEqual([{ from: 'a', port: 'next', to: 'b' }]);
      expect(await store.hasHistoryEntry(sibling.id, 1)).toBe(true);
      await store.withDraft(sibling.workspaceId, sibling.id, async (s) => expect(await s.getSchedule()).toMatchObject({ version: 1 }));
    });

    it('deleteWorkflow deletes nothing while an instance is in progress, and says how many are', async () => {
      for (const status of ['PENDING', 'RUNNING', 'WAITING'] as const) {
        const workflow = await publishedIn((await under.newScope()).workspaceId, `in progress: ${status}`);
        await under.addInstance(workflow, { version: 1, status });
        await under.addInstance(workflow, { version: 1, status: 'FAILED' });
        await store.withDraft(workflow.workspaceId, workflow.id, (s) =>
          s.setSchedule({ version: 1, triggerStepId: 't', triggerType: 'contract.step', config: {}, nextTickAt: new Date('2026-01-01T00:00:00Z') }),
        );
        const result = await store.withDraft(workflow.workspaceId, workflow.id, async (s) => {
          const outcome = await s.deleteWorkflow();
          // The session is still usable, and the schedule still there.
          expect(await s.getSchedule()).toBeDefined();
          return outcome;
        });
        expect(result).toEqual({ deleted: false, activeInstances: 1 });
        expect(await store.get(workflow.workspaceId, workflow.id)).toMatchObject({ latestVersion: 1 });
        expect(await store.getVersion(workflow.id, 1)).toBeDefined();
      }
    });

    it('failureHandlerReferences names the workflows that would still start this one, oldest first', async () => {
      const { workspaceId } = await under.newScope();
      const handler = await publishedIn(workspaceId, 'handler');
      expect(await store.withDraft(workspaceId, handler.id, (s) => s.failureHandlerReferences())).toEqual([]);

      const byVersion = await publishedIn(workspaceId, 'draft and version name it', handler.id);
      const byDraft = await store.create({ workspaceId, name: 'only the draft names it', description: '' });
      await store.withDraft(workspaceId, byDraft.id, (s) => s.updateHead({ failureHandlerWorkflowId: handler.id }));
      // Archived: its draft and version name it, but it starts nothing new.
      const archived = await publishedIn(workspaceId, 'archived', handler.id);
      await store.withDraft(workspaceId, archived.id, (s) => s.updateHead({ status: 'ARCHIVED' }));
      // Archived too, with a run in progress of a version that names it: that run would start it.
      const archivedRunning = await publishedIn(workspaceId, 'archived with a run', handler.id);
      await store.withDraft(workspaceId, archivedRunning.id, (s) => s.updateHead({ status: 'ARCHIVED' }));
      await under.addInstance(archivedRunning, { version: 1, status: 'WAITING' });
      // Its newest version no longer names it, and its runs of the old one are over.
      const movedOn = await publishedIn(workspaceId, 'moved on', handler.id);
      await under.addInstance(movedOn, { version: 1, status: 'FAILED' });
      await store.withDraft(workspaceId, movedOn.id, async (s) => {
        await s.insertVersion({ workflowId: movedOn.id, version: 2, graph: { steps: [step('t')], edges: [] }, draftRevision: 2, publishedBy: null, failureHandlerWorkflowId: null, repliesAlsoStartWorkflows: false });
        await s.updateHead({ latestVersion: 2, failureHandlerWorkflowId: null });
      });
      // Another workspace's workflow naming it (as an id can be named anywhere) is not this workspace's business.
      await publishedIn((await under.newScope()).workspaceId, 'elsewhere', handler.id);

      const references = await store.withDraft(workspaceId, handler.id, (s) => s.failureHandlerReferences());
      // Oldest first; workflows made in the same stored instant (the embedded database's clock can tie them) follow their id.
      const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
      expect([...references].sort(byId)).toEqual(
        [
          { id: byVersion.id, name: 'draft and version name it' },
          { id: byDraft.id, name: 'only the draft names it' },
          { id: archivedRunning.id, name: 'archived with a run' },
        ].sort(byId),
      );
    });
  });
}
