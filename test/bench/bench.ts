import 'reflect-metadata';
/**
 * Editing benchmark: `npm run bench` (builds, then runs dist/test/bench/bench.js).
 *
 * Starts the app in-process on real Postgres when DATABASE_URL is set, else on an embedded
 * database in a temporary directory, and drives it over GraphQL/HTTP like a client would.
 * Prints one JSON object to stdout; progress goes to stderr.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { App } from '../../src/server/app.js';
import { vacuumWithoutAutovacuum, withBenchApp } from './bench-app.js';

const TARGETS = { singleEditP95Ms: 20, editRatio5000Over10: 1.5, publish1000Ms: 500 } as const;
const SAMPLES = 200;
const WARMUP = 10;
const PUBLISHES = 5;
const MAX_BATCH = 1000;

const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

interface Stats {
  p50_ms: number;
  p95_ms: number;
  n: number;
}

/** Nearest-rank percentile of already sorted values. */
const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

const round = (ms: number): number => Math.round(ms * 100) / 100;

const stats = (samples: readonly number[]): Stats => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50_ms: round(percentile(sorted, 50)), p95_ms: round(percentile(sorted, 95)), n: samples.length };
};

const median = (samples: readonly number[]): number => percentile([...samples].sort((a, b) => a - b), 50);

class Client {
  constructor(
    private readonly url: string,
    private readonly key: string,
  ) {}

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    if (body.errors?.length) {
      throw new Error(`GraphQL error (HTTP ${res.status}): ${body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; ')}`);
    }
    return body.data as T;
  }

  /** Runs `query` and returns how long the round trip took, in milliseconds. */
  async timed(query: string, variables: Record<string, unknown>): Promise<number> {
    const start = performance.now();
    await this.request(query, variables);
    return performance.now() - start;
  }
}

const CREATE_WORKFLOW = `mutation ($name: String!) { createWorkflow(input: { name: $name }) { id } }`;
const RESULT = `{ label canUndo canRedo workflow { draftRevision stepCount } }`;
const APPLY_EDITS = `mutation ($workflowId: ID!, $edits: [EditInput!]!) { applyEdits(workflowId: $workflowId, edits: $edits) ${RESULT} }`;
const UPDATE_STEP = `mutation ($workflowId: ID!, $input: UpdateStepInput!) { updateStep(workflowId: $workflowId, input: $input) ${RESULT} }`;
const UNDO = `mutation ($workflowId: ID!) { undo(workflowId: $workflowId) ${RESULT} }`;
const REDO = `mutation ($workflowId: ID!) { redo(workflowId: $workflowId) ${RESULT} }`;
const PUBLISH = `mutation ($workflowId: ID!) { publishWorkflow(workflowId: $workflowId) { version { version } } }`;
const STEP_COUNT = `query ($id: ID!) { workflow(id: $id) { stepCount draftRevision } }`;

type Edit = Record<string, unknown>;

const stepId = (i: number): string => (i === 0 ? 't' : `s${i}`);

/** The edits that add steps [from, to) of a chain (step 0 is the trigger) and connect each to the one before. */
function chainEdits(from: number, to: number): Edit[] {
  const edits: Edit[] = [];
  for (let i = from; i < to; i++) {
    if (i === 0) {
      edits.push({ addStep: { id: 't', type: 'trigger.manual', name: 'Start', position: { x: 0, y: 0 } } });
      continue;
    }
    edits.push({
      addStep: {
        id: stepId(i),
        type: 'sms.send',
        name: `Message ${i}`,
        config: { to: '{{ trigger.phone }}', text: `Hello {{ trigger.name }}, this is message ${i}` },
        position: { x: 0, y: i * 120 },
      },
    });
    edits.push({ connectSteps: { from: stepId(i - 1), port: 'next', to: stepId(i) } });
  }
  return edits;
}

async function newWorkflow(client: Client, name: string): Promise<string> {
  const { createWorkflow } = await client.request<{ createWorkflow: { id: string } }>(CREATE_WORKFLOW, { name });
  return createWorkflow.id;
}

/** Builds a chain of `steps` steps with applyEdits batches of at most MAX_BATCH edits. */
async function buildChain(client: Client, id: string, steps: number): Promise<void> {
  let next = 0;
  while (next < steps) {
    // Each step after the trigger takes two edits (add + connect).
    const take = Math.min(steps - next, Math.floor(MAX_BATCH / 2));
    await client.request(APPLY_EDITS, { workflowId: id, edits: chainEdits(next, next + take) });
    next += take;
  }
  const { workflow } = await client.request<{ workflow: { stepCount: number } }>(STEP_COUNT, { id });
  if (workflow.stepCount !== steps) throw new Error(`expected ${steps} steps, found ${workflow.stepCount}`);
}

/** The `i`-th updateStep of a series: a new text for a step picked along the whole chain. */
function updateOne(client: Client, id: string, steps: number, i: number, tag: string): Promise<number> {
  // A stride coprime with the chain length visits steps all along it.
  const target = 1 + ((i * 7919) % (steps - 1));
  return client.timed(UPDATE_STEP, {
    workflowId: id,
    input: { stepId: stepId(target), config: { to: '{{ trigger.phone }}', text: `${tag} edit ${i} of step ${target}` } },
  });
}

/** `count` sequential updateStep calls, each changing a config. */
async function updateSteps(client: Client, id: string, steps: number, count: number, tag: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(await updateOne(client, id, steps, i, tag));
  return times;
}

async function repeat(client: Client, query: string, id: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(await client.timed(query, { workflowId: id }));
  return times;
}

async function run(app: App, key: string, embedded: boolean) {
  const client = new Client(app.url, key);
  // Latencies depend on what else the machine is doing; the load average tells a reader how quiet it was.
  const loadAtStart = round(loadavg()[0]!);

  log('building the 1000-step workflow in one applyEdits');
  const wf1000 = await newWorkflow(client, 'bench 1000');
  const buildEdits = chainEdits(0, 1000);
  const buildStart = performance.now();
  await client.request(APPLY_EDITS, { workflowId: wf1000, edits: buildEdits });
  const build1000 = performance.now() - buildStart;
  const check = await client.request<{ workflow: { stepCount: number } }>(STEP_COUNT, { id: wf1000 });
  if (check.workflow.stepCount !== 1000) throw new Error(`1000-step build made ${check.workflow.stepCount} steps`);
  log(`  ${buildEdits.length} edits in ${round(build1000)} ms`);

  log('building the 10-step workflow');
  const wf10 = await newWorkflow(client, 'bench 10');
  await buildChain(client, wf10, 10);
  log(`building the 5000-step workflow in batches of at most ${MAX_BATCH} edits`);
  const wf5000 = await newWorkflow(client, 'bench 5000');
  const build5000Start = performance.now();
  await buildChain(client, wf5000, 5000);
  log(`  built in ${round(performance.now() - build5000Start)} ms`);

  log('warming up');
  for (const [id, steps] of [[wf10, 10], [wf1000, 1000], [wf5000, 5000]] as const) {
    await updateSteps(client, id, steps, WARMUP, 'warmup');
  }

  // Interleaved, so that load that comes and goes on the machine affects both sizes alike.
  log(`${SAMPLES} updateStep each on the 10- and the 5000-step workflow, interleaved`);
  const update10: number[] = [];
  const update5000: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    update10.push(await updateOne(client, wf10, 10, i, 'u10'));
    update5000.push(await updateOne(client, wf5000, 5000, i, 'u5000'));
  }

  log(`${SAMPLES} updateStep on the 1000-step workflow`);
  const update1000 = await updateSteps(client, wf1000, 1000, SAMPLES, 'u1000');
  log(`${SAMPLES} undo on the 1000-step workflow`);
  const undo1000 = await repeat(client, UNDO, wf1000, SAMPLES);
  log(`${SAMPLES} redo on the 1000-step workflow`);
  const redo1000 = await repeat(client, REDO, wf1000, SAMPLES);

  log(`${PUBLISHES} publishes of the 1000-step workflow`);
  const publishes: number[] = [];
  for (let i = 0; i < PUBLISHES; i++) publishes.push(await client.timed(PUBLISH, { workflowId: wf1000 }));

  const s10 = stats(update10);
  const s1000 = stats(update1000);
  const s5000 = stats(update5000);
  const sUndo = stats(undo1000);
  const sRedo = stats(redo1000);
  const ratio = round(s5000.p50_ms / s10.p50_ms);
  const publishMedian = round(median(publishes));

  return {
    database: embedded ? 'embedded' : 'postgres',
    host: { cpus: cpus().length, loadavg1m_start: loadAtStart, loadavg1m_end: round(loadavg()[0]!) },
    build1000ViaApplyEdits_ms: round(build1000),
    build1000ViaApplyEdits_edits: buildEdits.length,
    updateStep_1000: s1000,
    undo_1000: sUndo,
    redo_1000: sRedo,
    updateStep_10: { p50_ms: s10.p50_ms, p95_ms: s10.p95_ms },
    updateStep_5000: { p50_ms: s5000.p50_ms, p95_ms: s5000.p95_ms },
    editRatio_5000_over_10: ratio,
    publish_1000_ms: publishMedian,
    targets: {
      singleEditUndoRedo_p95_ms: TARGETS.singleEditP95Ms,
      editRatio_5000_over_10: TARGETS.editRatio5000Over10,
      publish_1000_ms: TARGETS.publish1000Ms,
    },
    meets: {
      updateStep_10_p95: s10.p95_ms <= TARGETS.singleEditP95Ms,
      updateStep_1000_p95: s1000.p95_ms <= TARGETS.singleEditP95Ms,
      updateStep_5000_p95: s5000.p95_ms <= TARGETS.singleEditP95Ms,
      undo_1000_p95: sUndo.p95_ms <= TARGETS.singleEditP95Ms,
      redo_1000_p95: sRedo.p95_ms <= TARGETS.singleEditP95Ms,
      editRatio_5000_over_10: ratio <= TARGETS.editRatio5000Over10,
      publish_1000: publishMedian <= TARGETS.publish1000Ms,
    },
  };
}

async function main(): Promise<number> {
  return withBenchApp({ label: 'bench', tablePrefix: 'bench_edit_jobs', log }, async ({ app, apiKey }) => {
    await vacuumWithoutAutovacuum(app, log);
    const result = await run(app, apiKey, app.database.embedded);
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
