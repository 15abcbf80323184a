import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../support/fake-http-server.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';

/**
 * Every list of the schema walked page by page: the pages together must be exactly the whole list,
 * in its order, with no item twice and none missing, whatever the page size. Rows that tie on the
 * sort key, or differ only below the millisecond, are made on purpose: that is where keyset paging
 * goes wrong.
 */

let server: TestServer;
let client: GraphQLClient;
let workspaceId: string;
/** A workflow with steps, edges, history and versions, published, with finished instances. */
let workflowId: string;
let instanceIds: string[];
const createdWorkflowIds: string[] = [];

interface Connection<N> {
  edges: { cursor: string; node: N }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}
type PageFetcher<N> = (first: number, after: string | undefined) => Promise<Connection<N>>;

const STEPS = ['t', 'a', 'B', 'c-1', 'c_2', 'd', 'e', 'f', 'g', 'h', 'end'];
const SMS_STEPS = STEPS.slice(1, -1);

beforeAll(async () => {
  server = await startTestServer();
  // A workspace of its own, so that `workflows` lists exactly what this file made.
  const own = await server.newWorkspace('pagination');
  client = own.client;
  workspaceId = own.workspaceId;

  const { createWorkflow } = await client.request<{ createWorkflow: { id: string } }, Record<string, unknown>>(
    'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }',
    { input: { name: 'Paged' } },
  );
  workflowId = createWorkflow.id;
  createdWorkflowIds.push(workflowId);
  const edit = (edits: unknown[]) =>
    client.request('mutation($id: ID!, $edits: [EditInput!]!) { applyEdits(workflowId: $id, edits: $edits) { label } }', {
      id: workflowId,
      edits,
    });
  const typeOf = (id: string) => (id === 't' ? 'trigger.manual' : id === 'end' ? 'end' : 'sms.send');
  const configOf = (id: string) => (SMS_STEPS.includes(id) ? { to: '+15550100', text: `Message from ${id}` } : undefined);
  // One history entry per step, so that history has as many entries as there are steps.
  for (const id of STEPS) {
    const config = configOf(id);
    await edit([{ addStep: { id, type: typeOf(id), name: `Step ${id}`, ...(config ? { config } : {}) } }]);
  }
  await edit(STEPS.slice(0, -1).map((from, i) => ({ connectSteps: { from, port: 'next', to: STEPS[i + 1] } })));
  // Five versions: publish, then a harmless edit, again.
  for (let v = 0; v < 5; v++) {
    await client.request('mutation($id: ID!) { publishWorkflow(workflowId: $id) { version { version } } }', { id: workflowId });
    await client.request('mutation($id: ID!, $input: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $input) { label } }', {
      id: workflowId,
      input: { description: `revision ${v}` },
    });
  }

  // Instances started at once; each sends a sandbox message per middle step.
  const started = await Promise.all(
    Array.from({ length: 7 }, (_, i) =>
      client.request<{ startWorkflow: { instance: { id: string } } }, Record<string, unknown>>(
        'mutation($id: ID!, $input: JSON) { startWorkflow(workflowId: $id, input: $input) { instance { id } } }',
        { id: workflowId, input: { n: i } },
      ),
    ),
  );
  instanceIds = started.map((s) => s.startWorkflow.instance.id);
  for (const id of instanceIds) {
    await waitFor(
      () =>
        client.request<{ workflowInstance: { status: string } }, Record<string, unknown>>(
          'query($id: ID!) { workflowInstance(id: $id) { status } }',
          { id },
        ),
      (r) => r.workflowInstance.status === 'COMPLETED',
      { what: `instance ${id} to complete` },
    );
  }

  for (let i = 0; i < 8; i++) {
    const made = await client.request<{ createWorkflow: { id: string } }, Record<string, unknown>>(
      'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }',
      { input: { name: `Other ${i}` } },
    );
    createdWorkflowIds.push(made.createWorkflow.id);
  }

  // Ties on purpose: rows with the very same time (only the id orders them), and rows within the
  // same millisecond that differ in microseconds (a cursor holding milliseconds loses them).
  const sql = server.app.database.sql;
  const [w0, w1, w2, w3, w4] = createdWorkflowIds.slice(1);
  await sql`update workflows set created_at = '2030-01-01T00:00:00.123456Z' where id in (${w0!}, ${w1!}, ${w2!})`;
  await sql`update workflows set created_at = '2030-01-01T00:00:00.123789Z' where id = ${w3!}`;
  await sql`update workflows set created_at = '2030-01-01T00:00:00.123001Z' where id = ${w4!}`;
  const [i0, i1, i2, i3, i4] = instanceIds;
  await sql`update workflow_instances set created_at = '2030-01-01T00:00:00.555555Z' where id in (${i0!}, ${i1!}, ${i2!})`;
  await sql`update workflow_instances set created_at = '2030-01-01T00:00:00.555999Z' where id = ${i3!}`;
  await sql`update workflow_instances set created_at = '2030-01-01T00:00:00.555001Z' where id = ${i4!}`;
  await sql`update outbound_messages set created_at = '2030-01-01T00:00:00.777Z' where instance_id = ${i0!}`;
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

/** Walks a connection with pages of `size` and checks each page's shape; returns the nodes in order. */
async function walk<N>(fetch: PageFetcher<N>, size: number): Promise<{ nodes: N[]; cursors: string[]; totalCount: number }> {
  const nodes: N[] = [];
  const cursors: string[] = [];
  let after: string | undefined;
  let totalCount = -1;
  for (let pages = 0; ; pages++) {
    if (pages > 500) throw new Error('the walk does not end');
    const page = await fetch(size, after);
    expect(page.edges.length).toBeLessThanOrEqual(size);
    if (page.pageInfo.hasNextPage) expect(page.edges.length).toBe(size);
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
    if (totalCount >= 0) expect(page.totalCount).toBe(totalCount);
    totalCount = page.totalCount;
    nodes.push(...page.edges.map((e) => e.node));
    cursors.push(...page.edges.map((e) => e.cursor));
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor ?? undefined;
  }
  return { nodes, cursors, totalCount };
}

/** Walks with several page sizes; each walk must give exactly `expected`, in order. */
async function expectWalks<N>(fetch: PageFetcher<N>, expected: readonly N[]): Promise<void> {
  expect(expected.length).toBeGreaterThan(3);
  for (const size of [1, 2, 3, expected.length - 1, expected.length, 500]) {
    const { nodes, cursors, totalCount } = await walk(fetch, size);
    expect(nodes, `pages of ${size}`).toEqual(expected);
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(totalCount).toBe(expected.length);
  }
}

const gql = <R>(query: string, variables: Record<string, unknown>) => client.request<R, Record<string, unknown>>(query, variables);
const PAGE = 'pageInfo { hasNextPage endCursor } totalCount';

describe('every connection pages to exactly the whole list', () => {
  test('workflows (newest first; equal and sub-millisecond times included)', async () => {
    const fetch: PageFetcher<{ id: string; createdAt: string }> = async (first, after) =>
      (
        await gql<{ workflows: Connection<{ id: string; createdAt: string }> }>(
          `query($first: Int, $after: String) { workflows(first: $first, after: $after) { edges { cursor node { id createdAt } } ${PAGE} } }`,
          { first, after },
        )
      ).workflows;
    const all = (await fetch(500, undefined)).edges.map((e) => e.node);
    expect(all.map((n) => n.id).sort()).toEqual([...createdWorkflowIds].sort());
    const rows = await server.app.database.sql<{ id: string }[]>`
      select id from workflows where workspace_id = ${workspaceId} order by created_at desc, id desc`;
    expect(all.map((n) => n.id)).toEqual(rows.map((r) => r.id));
    await expectWalks(fetch, all);
  });

  test('workflows filtered by status', async () => {
    const fetch: PageFetcher<{ id: string }> = async (first, after) =>
      (
        await gql<{ workflows: Connection<{ id: string }> }>(
          `query($first: Int, $after: String) { workflows(status: DRAFT, first: $first, after: $after) { edges { cursor node { id } } ${PAGE} } }`,
          { first, after },
        )
      ).workflows;
    const all = (await fetch(500, undefined)).edges.map((e) => e.node);
    expect(all).toHaveLength(createdWorkflowIds.length - 1);
    await expectWalks(fetch, all);
  });

  const ofWorkflow = <N>(field: string, selection: string): PageFetcher<N> =>
    async (first, after) =>
      (
        await gql<{ workflow: Record<string, Connection<N>> }>(
          `query($id: ID!, $first: Int, $after: String) { workflow(id: $id) { ${field}(first: $first, after: $after) { edges { cursor node { ${selection} } } ${PAGE} } } }`,
          { id: workflowId, first, after },
        )
      ).workflow[field]!;

  test('steps (in the order they were added)', async () => {
    const fetch = ofWorkflow<{ id: string }>('steps', 'id');
    const all = (await fetch(500, undefined)).edges.map((e) => e.node);
    expect(all.map((s) => s.id)).toEqual(STEPS);
    await expectWalks(fetch, all);
  });

  test('edges', async () => {
    const fetch = ofWorkflow<{ from: string; port: string; to: string }>('edges', 'from port to');
    const all = (await fetch(500, undefined)).edges.map((e) => e.node);
    expect(all).toHaveLength(STEPS.length - 1);
    expect(new Set(all.map((e) => `${e.from}.${e.port}`)).size).toBe(all.length);
    await expectWalks(fetch, all);
  });

  test('history (newest first)', async () => {
    const fetch = ofWorkflow<{ seq: number }>('history', 'seq');
    const all = (await fetch(500, undefined)).edges.map((e) => e.node);
    expect(all.length).toBeGreaterThanOrEqual(STEPS.length + 1);
    expect(all.map((h) => h.seq)).toEqual([...all.map((h) => h.seq)].sort((a, b) => b - a));
    await expectWalks(fetch, all);
  });

  test('versions (newest first)', async () => {
    const fetch = ofWorkflow<{ version: number }>('versions', 'version');
    const all = (await fetch(500, undefined)).edges.map((e) => e.node);
    expect(all.map((v) => v.version)).toEqual([5, 4, 3, 2, 1]);
    await expectWalks(fetch, all);
  });

  test('instances (newest first; equal and sub-millisecond times included)', async () => {
    const fetch: PageFetcher<{ id: string }> = async (first, after) =>
      (
        await gql<{ workflowInstances: Connection<{ id: string }> }>(
          `query($id: ID!, $first: Int, $after: String) { workflowInstances(workflowId: $id, first: $first, after: $after) { edges { cursor node { id } } ${PAGE} } }`,
          { id: workflowId, first, after },
        )
      ).workflowInstances;
    const all = (await fetch(500, undefined)).edges.map((e) => e.node);
    expect(all.map((n) => n.id).sort()).toEqual([...instanceIds].sort());
    const rows = await server.app.database.sql<{ id: string }[]>`
      select id from workflow_instances where workflow_id = ${workflowId} order by created_at desc, id desc`;
    expect(all.map((n) => n.id)).toEqual(rows.map((r) => r.id));
    await expectWalks(fetch, all);
  });

  test('instances filtered by status', async () => {
    const fetch: PageFetcher<{ id: string }> = async (first, after) =>
      (
        await gql<{ workflowInstances: Connection<{ id: string }> }>(
          `query($id: ID!, $first: Int, $after: String) { workflowInstances(workflowId: $id, status: COMPLETED, first: $first, after: $after) { edges { cursor node { id } } ${PAGE} } }`,
          { id: workflowId, first, after },
        )
      ).workflowInstances;
    const all = (await fetch(500, undefined)).edges.map((e) => e.node);
    expect(all).toHaveLength(instanceIds.length);
    await expectWalks(fetch, all);
  });

  test('messages of an instance (oldest first; equal times included)', async () => {
    for (const instanceId of [instanceIds[0]!, instanceIds[5]!]) {
      const fetch: PageFetcher<{ id: string; text: string }> = async (first, after) =>
        (
          await gql<{ workflowInstance: { messages: Connection<{ id: string; text: string }> } }>(
            `query($id: ID!, $first: Int, $after: String) { workflowInstance(id: $id) { messages(first: $first, after: $after) { edges { cursor node { id text } } ${PAGE} } } }`,
            { id: instanceId, first, after },
          )
        ).workflowInstance.messages;
      const all = (await fetch(500, undefined)).edges.map((e) => e.node);
      expect(all.map((m) => m.text).sort()).toEqual(SMS_STEPS.map((s) => `Message from ${s}`).sort());
      await expectWalks(fetch, all);
    }
  });

  test('events of an instance (afterSeq pages)', async () => {
    const page = async (afterSeq: number, first: number) =>
      (
        await gql<{ workflowInstance: { eventSeq: number; events: { seq: number }[] } }>(
          'query($id: ID!, $afterSeq: Int!, $first: Int) { workflowInstance(id: $id) { eventSeq events(afterSeq: $afterSeq, first: $first) { seq } } }',
          { id: instanceIds[1], afterSeq, first },
        )
      ).workflowInstance;
    const { eventSeq } = await page(0, 500);
    expect(eventSeq).toBeGreaterThan(5);
    for (const size of [1, 2, 3, 500]) {
      const seqs: number[] = [];
      for (let after = 0; ; ) {
        const { events } = await page(after, size);
        expect(events.length).toBeLessThanOrEqual(size);
        if (events.length === 0) break;
        seqs.push(...events.map((e) => e.seq));
        after = events.at(-1)!.seq;
      }
      expect(seqs).toEqual(Array.from({ length: eventSeq }, (_, i) => i + 1));
    }
  });
});
