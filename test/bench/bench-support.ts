/**
 * What the engine and realtime benchmarks share: a GraphQL-over-HTTP client, workflow builders,
 * bounded-concurrency starts, polling and summary statistics. Plain Node (no vitest), compiled
 * into dist/ by `npm run build`.
 */
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { App } from '../../src/server/app.js';

/** What a benchmark function gets from its runner (`engine-main.ts` or `bench.ts`). */
export interface BenchOptions {
  readonly app: App;
  /** A key of the workspace the benchmark builds its workflows in. */
  readonly apiKey: string;
  /** Progress lines (stderr); stdout is kept for the JSON result. */
  readonly log: (message: string) => void;
}

interface GraphQLErrorShape {
  readonly message: string;
  readonly extensions?: { readonly code?: string };
}

/**
 * A minimal GraphQL-over-HTTP client; throws on any GraphQL error. It speaks node:http over
 * kept-alive sockets rather than `fetch`: the client runs in the bench's process, beside the
 * server it measures, and undici's fetch cost this process 2.07 ms of CPU per `{ __typename }`
 * request against 0.75 ms with node:http (client and server together, 3,000 requests, 50 at once).
 */
export class BenchClient {
  private readonly target: URL;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    readonly url: string,
    private readonly key: string,
  ) {
    this.target = new URL(url);
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const payload = JSON.stringify({ query, variables });
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          hostname: this.target.hostname,
          port: this.target.port,
          path: this.target.pathname,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${this.key}`,
            'content-length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    const body = JSON.parse(text) as { data?: T; errors?: GraphQLErrorShape[] };
    if (body.errors?.length) {
      throw new Error(`GraphQL error (HTTP ${status}): ${body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; ')}`);
    }
    return body.data as T;
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}

const CREATE_WORKFLOW = `mutation ($name: String!) { createWorkflow(input: { name: $name }) { id } }`;
const APPLY_EDITS = `mutation ($workflowId: ID!, $edits: [EditInput!]!) {
  applyEdits(workflowId: $workflowId, edits: $edits) { workflow { draftRevision stepCount } } }`;
const PUBLISH = `mutation ($workflowId: ID!) { publishWorkflow(workflowId: $workflowId) { version { version } } }`;
const START = `mutation ($workflowId: ID!, $input: JSON) {
  startWorkflow(workflowId: $workflowId, input: $input) { created instance { id status } } }`;
const COUNTS = `query ($workflowId: ID!) {
  instanceCounts(workflowId: $workflowId) { pending running waiting completed failed cancelled total } }`;
const INSTANCE_STATUS = `query ($id: ID!) { workflowInstance(id: $id) { status } }`;
const STEP_RUNS = `query ($id: ID!) { workflowInstance(id: $id) { status stepRuns { stepId startedAt finishedAt } } }`;
const INSTANCES = `query ($workflowId: ID!, $first: Int, $after: String) {
  workflowInstances(workflowId: $workflowId, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { id status eventSeq } } } }`;

/** The largest applyEdits batch the benchmarks send. */
export const MAX_EDIT_BATCH = 1000;

/** The trigger input every benchmark instance starts with; the messages render from it. */
export const BENCH_INPUT = { phone: '+15550100', name: 'Bench' } as const;

type Edit = Record<string, unknown>;

/** One step of a chain after the trigger (which is always `trigger.manual`). */
export type ChainStep =
  | { readonly kind: 'sms' }
  | { readonly kind: 'delay'; readonly amount: number; readonly unit: 'seconds' | 'minutes' | 'hours' | 'days' };

/** Step ids of a chain: `t` for the trigger, then `s1`, `s2`, ... */
export const chainStepId = (i: number): string => (i === 0 ? 't' : `s${i}`);

function stepEdit(i: number, step: ChainStep): Edit {
  const base = { id: chainStepId(i), position: { x: 0, y: i * 120 } };
  if (step.kind === 'delay') {
    return { addStep: { ...base, type: 'delay', name: `Wait ${i}`, config: { duration: { amount: step.amount, unit: step.unit } } } };
  }
  return {
    addStep: {
      ...base,
      type: 'sms.send',
      name: `Message ${i}`,
      config: { to: '{{ trigger.phone }}', text: `Hello {{ trigger.name }}, this is message ${i}` },
    },
  };
}

/**
 * Creates a workflow that is one chain (trigger, then `steps` in order), built with applyEdits
 * batches of at most {@link MAX_EDIT_BATCH} edits, publishes it and returns its id.
 */
export async function createPublishedChain(client: BenchClient, name: string, steps: readonly ChainStep[]): Promise<string> {
  const { createWorkflow } = await client.request<{ createWorkflow: { id: string } }>(CREATE_WORKFLOW, { name });
  const id = createWorkflow.id;
  const edits: Edit[] = [{ addStep: { id: 't', type: 'trigger.manual', name: 'Start', position: { x: 0, y: 0 } } }];
  steps.forEach((step, index) => {
    const i = index + 1;
    edits.push(stepEdit(i, step));
    edits.push({ connectSteps: { from: chainStepId(i - 1), port: 'next', to: chainStepId(i) } });
  });
  let stepCount = 0;
  for (let from = 0; from < edits.length; from += MAX_EDIT_BATCH) {
    const batch = edits.slice(from, from + MAX_EDIT_BATCH);
    const { applyEdits } = await client.request<{ applyEdits: { workflow: { stepCount: number } } }>(APPLY_EDITS, {
      workflowId: id,
      edits: batch,
    });
    stepCount = applyEdits.workflow.stepCount;
  }
  if (stepCount !== steps.length + 1) throw new Error(`workflow '${name}' has ${stepCount} steps, expected ${steps.length + 1}`);
  await client.request(PUBLISH, { workflowId: id });
  return id;
}

/** `count` sms.send steps. */
export const smsSteps = (count: number): ChainStep[] => Array.from({ length: count }, () => ({ kind: 'sms' }) as const);

/** Starts one instance and returns its id. */
export async function startInstance(client: BenchClient, workflowId: string): Promise<string> {
  const { startWorkflow } = await client.request<{ startWorkflow: { created: boolean; instance: { id: string } } }>(START, {
    workflowId,
    input: BENCH_INPUT,
  });
  if (!startWorkflow.created) throw new Error('startWorkflow did not create an instance');
  return startWorkflow.instance.id;
}

/** Runs `task(0..count-1)` with at most `concurrency` in flight; results in index order. */
export async function mapBounded<R>(count: number, concurrency: number, task: (i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

/** Starts `count` instances with at most `concurrency` startWorkflow calls in flight. */
export function startMany(client: BenchClient, workflowId: string, count: number, concurrency: number): Promise<string[]> {
  return mapBounded(count, concurrency, () => startInstance(client, workflowId));
}

/** Starts `count` instances at a steady `perSecond` (the i-th not before i / perSecond s), at most `concurrency` in flight. */
export function startPaced(client: BenchClient, workflowId: string, count: number, perSecond: number, concurrency: number): Promise<string[]> {
  const t0 = performance.now();
  return mapBounded(count, concurrency, async (i) => {
    const wait = t0 + (i * 1000) / perSecond - performance.now();
    if (wait > 0) await sleep(wait);
    return startInstance(client, workflowId);
  });
}

export interface InstanceCounts {
  readonly pending: number;
  readonly running: number;
  readonly waiting: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly total: number;
}

export async function instanceCounts(client: BenchClient, workflowId: string): Promise<InstanceCounts> {
  const { instanceCounts: counts } = await client.request<{ instanceCounts: InstanceCounts }>(COUNTS, { workflowId });
  return counts;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `instanceCounts` every `intervalMs` until `done(counts)`; throws after `timeoutMs`, or
 * as soon as an instance failed or was cancelled (the benchmark would otherwise wait in vain).
 */
export async function waitForCounts(
  client: BenchClient,
  workflowId: string,
  options: { done: (c: InstanceCounts) => boolean; intervalMs: number; timeoutMs: number; what: string },
): Promise<InstanceCounts> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const counts = await instanceCounts(client, workflowId);
    if (options.done(counts)) return counts;
    if (counts.failed > 0 || counts.cancelled > 0) {
      throw new Error(`${options.what}: instances ended badly: ${JSON.stringify(counts)}`);
    }
    if (performance.now() > deadline) throw new Error(`${options.what}: timed out; counts ${JSON.stringify(counts)}`);
    await sleep(options.intervalMs);
  }
}

/** Polls one instance until it is COMPLETED; throws when it failed, was cancelled, or took too long. */
export async function waitForInstance(client: BenchClient, id: string, options: { intervalMs: number; timeoutMs: number }): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const { workflowInstance } = await client.request<{ workflowInstance: { status: string } }>(INSTANCE_STATUS, { id });
    if (workflowInstance.status === 'COMPLETED') return;
    if (workflowInstance.status === 'FAILED' || workflowInstance.status === 'CANCELLED') {
      throw new Error(`instance ${id} ended ${workflowInstance.status}`);
    }
    if (performance.now() > deadline) throw new Error(`instance ${id} still ${workflowInstance.status} after ${options.timeoutMs} ms`);
    await sleep(options.intervalMs);
  }
}

export interface StepRunTimes {
  readonly stepId: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export async function stepRunsOf(client: BenchClient, id: string): Promise<StepRunTimes[]> {
  const { workflowInstance } = await client.request<{ workflowInstance: { stepRuns: StepRunTimes[] } }>(STEP_RUNS, { id });
  return workflowInstance.stepRuns;
}

/**
 * For a completed chain of `length` steps: per consecutive pair (A, B), the gap from A finished
 * to B started, and the period from A started to B started (the whole per-step cost).
 */
export function chainTimings(runs: readonly StepRunTimes[], length: number): { gaps: number[]; periods: number[] } {
  const byStep = new Map(runs.map((r) => [r.stepId, r]));
  const gaps: number[] = [];
  const periods: number[] = [];
  for (let i = 1; i < length; i++) {
    const a = byStep.get(chainStepId(i - 1));
    const b = byStep.get(chainStepId(i));
    if (!a?.startedAt || !a.finishedAt || !b?.startedAt) throw new Error(`step run ${chainStepId(i - 1)} or ${chainStepId(i)} has no timings`);
    gaps.push(Date.parse(b.startedAt) - Date.parse(a.finishedAt));
    periods.push(Date.parse(b.startedAt) - Date.parse(a.startedAt));
  }
  return { gaps, periods };
}

export interface InstanceSeq {
  readonly id: string;
  readonly status: string;
  readonly eventSeq: number;
}

/** Every instance of a workflow with its newest event seq. */
export async function listInstances(client: BenchClient, workflowId: string): Promise<InstanceSeq[]> {
  const all: InstanceSeq[] = [];
  let after: string | undefined;
  for (;;) {
    const { workflowInstances: page } = await client.request<{
      workflowInstances: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: InstanceSeq }[] };
    }>(INSTANCES, { workflowId, first: 500, ...(after ? { after } : {}) });
    all.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return all;
    after = page.pageInfo.endCursor;
  }
}

/** Nearest-rank percentile of already sorted values. */
export const percentile = (sorted: ArrayLike<number>, p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

export const round = (value: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export interface Summary {
  readonly n: number;
  readonly mean_ms: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

export function summarize(samples: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    mean_ms: round(sum / Math.max(1, sorted.length)),
    p50_ms: round(percentile(sorted, 50)),
    p90_ms: round(percentile(sorted, 90)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.length ? sorted[sorted.length - 1]! : Number.NaN),
  };
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export const since = (start: number): number => performance.now() - start;

/**
 * Removes what cascading from the workspace does not: the sandbox's outbound message records of
 * the given workflows' instances (that table has no foreign key to instances). Real Postgres only;
 * an embedded database lives in a directory its runner deletes.
 */
export async function deleteOutboundMessages(app: App, workflowIds: readonly string[]): Promise<void> {
  if (app.database.embedded || workflowIds.length === 0) return;
  await app.database.sql`
    delete from outbound_messages
    where instance_id in (select id from workflow_instances where workflow_id in ${app.database.sql([...workflowIds])})`;
}

/** The slice of a postgres.js client the cleanup needs (the app's, or one opened after it stopped). */
export interface SqlRunner {
  unsafe(query: string): PromiseLike<unknown>;
}

/**
 * Drops an Agenda job table of the Postgres backend with everything the backend made for it: its
 * `<name>_logs` table and the trigger function it creates beside the table.
 */
export async function dropSchedulerTable(sql: SqlRunner, table: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,39}$/.test(table)) throw new Error(`not a scheduler table name: ${table}`);
  await sql.unsafe(`drop table if exists "${table}", "${table}_logs"`);
  await sql.unsafe(`drop function if exists "update_${table}_updated_at"()`);
}

/** A table name no other run uses: `<prefix>_<pid>_<random>`. */
export const uniqueTableName = (prefix: string): string =>
  `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
