/**
 * Engine benchmark: how fast steps follow each other, how many steps per second the engine runs
 * against what Agenda alone can do and against DBOS Transact on the same workloads, whether
 * per-step cost grows with the workflow's size, and what many instances waiting in a delay cost
 * the server in memory.
 *
 * Everything goes through the public GraphQL API of an app running in this process; timings of
 * steps come from the step runs' own `startedAt` / `finishedAt`, so polling does not blur them.
 */
import { performance } from 'node:perf_hooks';
import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda, InMemoryNotificationChannel } from 'agenda';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { App } from '../../src/server/app.js';
import { loadConfig, type Config } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { createStepScheduler } from '../../src/scheduler/create-step-scheduler.js';
import { startDbosPeer, type DbosSetup } from './dbos-peer.js';
import {
  BenchClient,
  chainStepId,
  chainTimings,
  createPublishedChain,
  deleteOutboundMessages,
  dropSchedulerTable,
  instanceCounts,
  mapBounded,
  round,
  since,
  sleep,
  smsSteps,
  startInstance,
  startMany,
  stepRunsOf,
  summarize,
  uniqueTableName,
  waitForCounts,
  waitForInstance,
  type BenchOptions,
  type Summary,
} from './bench-support.js';

/** Targets from the issue, for a 2-core machine. */
export const ENGINE_TARGETS = {
  immediateP50Ms: 10,
  immediateP99Ms: 50,
  stepsPerSecond: 300,
  ratioToCeiling: 0.5,
  perStepRatio: 1.2,
  memoryGrowthMb: 50,
  /** Immediate step start-to-start (the per-step period on the short chain), p99. */
  startToStartP99Ms: 10,
  /** Our per-step period over DBOS Transact's in the same run (p50 and p99): at most. */
  periodRatioToDbos: 1,
  /** Our steps per second over DBOS Transact's in the same run: at least. */
  throughputRatioToDbos: 1,
} as const;

/** Sizes of each phase; the defaults are the issue's. */
export interface EngineBenchSizes {
  /** Sequential instances of the short chain measured for step-to-step latency. */
  readonly latencyInstances: number;
  readonly chainLength: number;
  readonly throughputInstances: number;
  /** Steps of the throughput workflow, trigger included. */
  readonly throughputSteps: number;
  readonly ceilingJobs: number;
  readonly longChainLength: number;
  readonly waitingInstances: number;
  /** startWorkflow calls (and ceiling enqueues) in flight at once. */
  readonly startConcurrency: number;
  /** Sequential instances of the short chain on each side of the DBOS comparison. */
  readonly dbosChainInstances: number;
  /** Instances (of `throughputSteps` steps) started at once on each side of the DBOS comparison. */
  readonly dbosThroughputInstances: number;
}

export const DEFAULT_ENGINE_SIZES: EngineBenchSizes = {
  latencyInstances: 50,
  chainLength: 10,
  throughputInstances: 2000,
  throughputSteps: 5,
  ceilingJobs: 5000,
  longChainLength: 2000,
  waitingInstances: 10_000,
  startConcurrency: 50,
  dbosChainInstances: 50,
  dbosThroughputInstances: 2000,
};

/** The scheduler settings the app runs with; the Agenda ceiling is measured with the same. */
export type SchedulerSettings = Pick<Config, 'WORKER_CONCURRENCY' | 'SCHEDULER_POLL_MS' | 'STEP_LEASE_MS' | 'DATABASE_POOL_SIZE'>;

export interface EngineBenchOptions extends BenchOptions {
  /** Defaults to what `loadConfig(process.env)` gives, which is what the runners start the app with. */
  readonly settings?: SchedulerSettings;
  readonly sizes?: Partial<EngineBenchSizes>;
  /** Which measurements to run; all by default. A partial run never reports `meets: true`. */
  readonly parts?: ReadonlySet<EnginePart>;
  /** Runs before each part (the bench vacuums there when the database runs no autovacuum). */
  readonly beforeEachPart?: (part: EnginePart) => Promise<unknown>;
}

export const ENGINE_PARTS = ['latency', 'throughput', 'dbos', 'perStep', 'memory'] as const;
export type EnginePart = (typeof ENGINE_PARTS)[number];

export interface ImmediateLatencyFigures extends Summary {
  readonly what: string;
  readonly instances: number;
  readonly stepsPerInstance: number;
  readonly target: { readonly p50_ms: number; readonly p99_ms: number };
  readonly meets: boolean;
}

export interface AgendaCeilingFigures {
  readonly what: string;
  readonly jobs: number;
  readonly concurrency: number;
  readonly notifications: 'backend' | 'in-memory';
  readonly enqueuePhase_s: number;
  readonly total_s: number;
  readonly processCpuMsPerJob: number;
  readonly jobsPerSecond: number;
}

/** One side's many instances started at once. */
export interface ManyInstancesFigures {
  readonly what: string;
  readonly instances: number;
  readonly stepsPerInstance: number;
  readonly steps: number;
  readonly startConcurrency: number;
  readonly startPhase_s: number;
  readonly total_s: number;
  /** CPU this process spent per step (ours: server, client and, when embedded, the database; DBOS: DBOS and the bench). */
  readonly processCpuMsPerStep: number;
  readonly stepsPerSecond: number;
}

export interface ThroughputFigures extends ManyInstancesFigures {
  /** The target's ceiling: stock Agenda's no-op jobs on the same backend. */
  readonly agendaCeiling: AgendaCeilingFigures;
  readonly ratioToCeiling: number;
  /**
   * No-op jobs through our own AgendaStepScheduler (leaner than stock Agenda): what a step would
   * cost if the engine did nothing. Reported beside the target, not part of it.
   */
  readonly schedulerNoopJobs: AgendaCeilingFigures;
  readonly ratioToSchedulerNoopJobs: number;
  readonly target: { readonly stepsPerSecond: number; readonly ratioToCeiling: number };
  readonly meets: boolean;
}

export interface ChainPerStep {
  readonly steps: number;
  readonly runs: number;
  readonly pairs: number;
  /** From one step's start to the next one's: the whole cost of a step. */
  readonly period: { readonly mean_ms: number; readonly median_ms: number; readonly p99_ms: number };
  /** From one step's finish to the next one's start: the scheduling part of it. */
  readonly gap: { readonly mean_ms: number; readonly median_ms: number };
  /** For a single run: the median period over its first and its last tenth of steps (does a step get dearer along the chain?). */
  readonly drift?: { readonly firstTenthMedian_ms: number; readonly lastTenthMedian_ms: number };
  readonly wall_s: number;
}

export interface PerStepFigures {
  readonly what: string;
  readonly short: ChainPerStep;
  readonly long: ChainPerStep;
  readonly ratioMedian: number;
  readonly ratioMean: number;
  readonly target: { readonly ratio: number };
  readonly meets: boolean;
}

export interface MemoryReading {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly externalMb: number;
  readonly arrayBuffersMb: number;
}

export interface MemoryFigures {
  readonly what: string;
  readonly instances: number;
  /** How `gc()` was reached before each reading: `global.gc` (node --expose-gc), enabled at runtime, or not at all. */
  readonly gc: 'global.gc' | 'v8.setFlagsFromString' | 'unavailable';
  /** The embedded database (PGlite) runs inside this process, so its memory is in the RSS too. */
  readonly databaseInProcess: boolean;
  readonly startPhase_s: number;
  readonly idle: MemoryReading;
  readonly loaded: MemoryReading;
  readonly growthMb: number;
  readonly heapGrowthMb: number;
  readonly target: { readonly growthMb: number };
  readonly meets: boolean;
}

/** One side's runs of the short chain, one instance at a time. */
export interface ChainPeriodFigures {
  readonly what: string;
  readonly instances: number;
  readonly stepsPerInstance: number;
  /** Consecutive step pairs measured: `stepsPerInstance - 1` per instance. */
  readonly pairs: number;
  /** One step's start to the next one's: the whole cost of a step. */
  readonly period: Summary;
  /** One step's finish to the next one's start. */
  readonly gap: Summary;
  readonly wall_s: number;
}

/** DBOS Transact on the two workloads, and what it durably wrote. */
export interface DbosPeerFigures {
  readonly setup: DbosSetup;
  readonly chain: ChainPeriodFigures;
  readonly throughput: ManyInstancesFigures;
  /** Checkpoints (one per step, in DBOS's system database) and messages (one per sms.send step) against the steps run. */
  readonly written: {
    readonly checkpoints: number;
    readonly expectedCheckpoints: number;
    readonly messages: number;
    readonly expectedMessages: number;
  };
}

/** One figure of ours against DBOS's: `ratio` is ours over DBOS's. */
export interface PeerComparison {
  readonly ours: number;
  readonly dbos: number;
  readonly ratio: number;
  readonly target: { readonly ratioAtMost: number } | { readonly ratioAtLeast: number };
  readonly meets: boolean;
}

export interface DbosComparison {
  readonly what: string;
  /** The order the runs went in (each side's chain warm-up first). */
  readonly order: string;
  readonly ours: { readonly chain: ChainPeriodFigures; readonly throughput: ManyInstancesFigures };
  readonly perStepP50: PeerComparison;
  readonly perStepP99: PeerComparison;
  readonly throughput: PeerComparison;
  readonly startToStartP99: { readonly ours_ms: number; readonly target: { readonly p99_ms: number }; readonly meets: boolean };
  readonly meets: boolean;
}

/** Why the DBOS comparison could not run in this setup. */
export interface DbosUnavailable {
  readonly notRun: string;
  readonly meets: false;
}

export interface EngineFigures {
  readonly database: 'postgres' | 'embedded';
  readonly workerConcurrency: number;
  readonly schedulerPollMs: number;
  readonly immediateStepLatency: ImmediateLatencyFigures | 'not run';
  readonly throughput: ThroughputFigures | 'not run';
  /** Peers measured in the same run on the same database. */
  readonly peers: { readonly dbos: DbosPeerFigures | DbosUnavailable | 'not run' };
  readonly vsDbos: DbosComparison | DbosUnavailable | 'not run';
  readonly perStepLatency: PerStepFigures | 'not run';
  readonly memory: MemoryFigures | 'not run';
  readonly meets: boolean;
  readonly duration_s: number;
}

const LATENCY_WARMUP = 5;
const WAITING_WARMUP = 20;

export async function runEngineBench(options: EngineBenchOptions): Promise<EngineFigures> {
  const { app, log } = options;
  const sizes: EngineBenchSizes = { ...DEFAULT_ENGINE_SIZES, ...options.sizes };
  const settings = options.settings ?? loadConfig(process.env);
  const client = new BenchClient(app.url, options.apiKey);
  const began = performance.now();
  const workflows: string[] = [];
  const stamp = new Date().toISOString();

  try {
    log(`engine: building workflows (${sizes.chainLength}, ${sizes.throughputSteps}, ${sizes.longChainLength} steps and a delay)`);
    const chain = await createPublishedChain(client, `engine bench chain ${sizes.chainLength} ${stamp}`, smsSteps(sizes.chainLength - 1));
    workflows.push(chain);
    const short = await createPublishedChain(client, `engine bench throughput ${stamp}`, smsSteps(sizes.throughputSteps - 1));
    workflows.push(short);
    const buildStart = performance.now();
    const long = await createPublishedChain(client, `engine bench chain ${sizes.longChainLength} ${stamp}`, smsSteps(sizes.longChainLength - 1));
    workflows.push(long);
    log(`  the ${sizes.longChainLength}-step chain was built and published in ${round(since(buildStart))} ms`);
    const delayed = await createPublishedChain(client, `engine bench delay ${stamp}`, [{ kind: 'delay', amount: 1, unit: 'days' }, { kind: 'sms' }]);
    workflows.push(delayed);

    const parts = options.parts ?? new Set(ENGINE_PARTS);
    const skipped = 'not run' as const;
    const run = async <T>(part: EnginePart, measure: () => Promise<T>): Promise<T | typeof skipped> => {
      if (!parts.has(part)) return skipped;
      await options.beforeEachPart?.(part);
      return measure();
    };
    const latency = await run('latency', () => measureImmediateLatency({ client, workflowId: chain, sizes, log }));
    const throughput = await run('throughput', () => measureThroughput({ options, client, workflowId: short, sizes, settings }));
    const dbos = await run('dbos', () =>
      measureAgainstDbos({ options, client, chainWorkflowId: chain, manyWorkflowId: short, sizes, settings }),
    );
    const perStep = await run('perStep', () => measurePerStep({ client, shortWorkflowId: chain, longWorkflowId: long, sizes, log }));
    const memory = await run('memory', () => measureMemory({ options, client, workflowId: delayed, sizes }));
    const vsDbos = dbos === skipped || 'notRun' in dbos ? dbos : dbos.vs;
    const all = [latency, throughput, vsDbos, perStep, memory];

    return {
      database: app.database.embedded ? 'embedded' : 'postgres',
      workerConcurrency: settings.WORKER_CONCURRENCY,
      schedulerPollMs: settings.SCHEDULER_POLL_MS,
      immediateStepLatency: latency,
      throughput,
      peers: { dbos: dbos === skipped || 'notRun' in dbos ? dbos : dbos.peer },
      vsDbos,
      perStepLatency: perStep,
      memory,
      meets: all.every((figures) => figures !== skipped && figures.meets),
      duration_s: round(since(began) / 1000, 1),
    };
  } finally {
    await cleanUp(options, workflows).catch((err: unknown) => log(`engine: cleanup failed: ${String(err)}`));
  }
}

/** Step timings of sequential runs of one chain. */
interface ChainSamples {
  readonly length: number;
  readonly runs: number;
  /** A step's finish to the next one's start. */
  readonly gaps: readonly number[];
  /** A step's start to the next one's start. */
  readonly periods: readonly number[];
  readonly wallMs: number;
}

/**
 * Polling decides only when to read a run's timings, which come from the step runs; but each
 * poll is work for the same server, so every chain is polled at this one rate whatever its length.
 */
const CHAIN_POLL_MS = 50;

/**
 * A completed chain's gaps and periods (see chainTimings) from its event log, to the microsecond:
 * a step's `start` and `succeed` events carry the database's clock at their commit, where the
 * step runs' `startedAt`/`finishedAt` over the API have whole milliseconds, too coarse for steps
 * a millisecond or two apart (DBOS's are timed with performance.now()).
 */
async function chainTimingsFromLog(app: App, instanceId: string, length: number): Promise<{ gaps: number[]; periods: number[] }> {
  const rows = await app.database.sql<{ step_id: string; event: string; ms: string }[]>`
    select step_id, event, (extract(epoch from at) * 1000)::text as ms from instance_events
    where instance_id = ${instanceId} and entity = 'STEP' and event in ('start', 'succeed') order by seq`;
  const started = new Map<string, number>();
  const finished = new Map<string, number>();
  for (const r of rows) {
    const at = Number(r.ms);
    if (r.event === 'start') started.set(r.step_id, started.get(r.step_id) ?? at);
    else finished.set(r.step_id, at);
  }
  const gaps: number[] = [];
  const periods: number[] = [];
  for (let i = 1; i < length; i++) {
    const a = chainStepId(i - 1);
    const b = chainStepId(i);
    const aStart = started.get(a);
    const aEnd = finished.get(a);
    const bStart = started.get(b);
    if (aStart === undefined || aEnd === undefined || bStart === undefined) throw new Error(`step ${a} or ${b} has no start or finish in the log`);
    gaps.push(bStart - aEnd);
    periods.push(bStart - aStart);
  }
  return { gaps, periods };
}

/** `runs` sequential runs of a chain of `length` steps (each started after the previous completed). */
async function runChain(args: { client: BenchClient; workflowId: string; length: number; runs: number; app?: App }): Promise<ChainSamples> {
  const { client, workflowId, length, runs } = args;
  const gaps: number[] = [];
  const periods: number[] = [];
  const started = performance.now();
  for (let i = 0; i < runs; i++) {
    const id = await startInstance(client, workflowId);
    await waitForInstance(client, id, { intervalMs: CHAIN_POLL_MS, timeoutMs: 10 * 60_000 });
    const t = args.app ? await chainTimingsFromLog(args.app, id, length) : chainTimings(await stepRunsOf(client, id), length);
    gaps.push(...t.gaps);
    periods.push(...t.periods);
  }
  return { length, runs, gaps, periods, wallMs: since(started) };
}

function perStepOf(samples: readonly ChainSamples[]): ChainPerStep {
  const periods = samples.flatMap((s) => s.periods);
  const gaps = samples.flatMap((s) => s.gaps);
  const p = summarize(periods);
  const g = summarize(gaps);
  const tenth = Math.floor(periods.length / 10);
  const drift =
    samples.length === 1 && samples[0]!.runs === 1 && tenth > 0
      ? {
          firstTenthMedian_ms: summarize(periods.slice(0, tenth)).p50_ms,
          lastTenthMedian_ms: summarize(periods.slice(periods.length - tenth)).p50_ms,
        }
      : undefined;
  return {
    steps: samples[0]?.length ?? 0,
    runs: samples.reduce((n, s) => n + s.runs, 0),
    pairs: periods.length,
    period: { mean_ms: p.mean_ms, median_ms: p.p50_ms, p99_ms: p.p99_ms },
    gap: { mean_ms: g.mean_ms, median_ms: g.p50_ms },
    ...(drift ? { drift } : {}),
    wall_s: round(samples.reduce((n, s) => n + s.wallMs, 0) / 1000, 2),
  };
}

/** Sequential runs of the short chain: gaps between a step's finish and the next one's start. */
async function measureImmediateLatency(args: {
  client: BenchClient;
  workflowId: string;
  sizes: EngineBenchSizes;
  log: (m: string) => void;
}): Promise<ImmediateLatencyFigures> {
  const { client, workflowId, sizes, log } = args;
  log(`engine: warming up with ${LATENCY_WARMUP} runs of the ${sizes.chainLength}-step chain`);
  await runChain({ client, workflowId, length: sizes.chainLength, runs: LATENCY_WARMUP });
  log(`engine: ${sizes.latencyInstances} sequential runs of the ${sizes.chainLength}-step chain`);
  const samples = await runChain({ client, workflowId, length: sizes.chainLength, runs: sizes.latencyInstances });
  const s = summarize(samples.gaps);
  const figures: ImmediateLatencyFigures = {
    what: 'step A finished -> next step B started (sms.send chain, sandbox), from the step runs',
    ...s,
    instances: sizes.latencyInstances,
    stepsPerInstance: sizes.chainLength,
    target: { p50_ms: ENGINE_TARGETS.immediateP50Ms, p99_ms: ENGINE_TARGETS.immediateP99Ms },
    meets: s.p50_ms <= ENGINE_TARGETS.immediateP50Ms && s.p99_ms <= ENGINE_TARGETS.immediateP99Ms,
  };
  log(`  gap p50 ${s.p50_ms} ms, p99 ${s.p99_ms} ms`);
  return figures;
}

/**
 * One run of the long chain between two sets of short-chain runs, all at the same point of the
 * database's life (after the throughput phase), so that neither load coming and going on the
 * machine nor the state of the database favours one size.
 */
async function measurePerStep(args: {
  client: BenchClient;
  shortWorkflowId: string;
  longWorkflowId: string;
  sizes: EngineBenchSizes;
  log: (m: string) => void;
}): Promise<PerStepFigures> {
  const { client, shortWorkflowId, longWorkflowId, sizes, log } = args;
  const half = Math.max(1, Math.round(sizes.latencyInstances / 2));
  const shortRuns = () => runChain({ client, workflowId: shortWorkflowId, length: sizes.chainLength, runs: half });
  log(`engine: per-step, ${half} runs of the ${sizes.chainLength}-step chain, one of the ${sizes.longChainLength}-step chain, ${half} more short ones`);
  const before = await shortRuns();
  const long = perStepOf([await runChain({ client, workflowId: longWorkflowId, length: sizes.longChainLength, runs: 1 })]);
  const after = await shortRuns();
  const short = perStepOf([before, after]);
  log(`  period median ${long.period.median_ms} ms (long) against ${short.period.median_ms} ms (short)`);
  return perStepFigures(short, long);
}

function perStepFigures(short: ChainPerStep, long: ChainPerStep): PerStepFigures {
  const ratioMedian = round(long.period.median_ms / short.period.median_ms);
  const ratioMean = round(long.period.mean_ms / short.period.mean_ms);
  return {
    what: `per-step time (one step's start to the next one's) on a ${long.steps}-step chain over a ${short.steps}-step chain`,
    short,
    long,
    ratioMedian,
    ratioMean,
    target: { ratio: ENGINE_TARGETS.perStepRatio },
    meets: ratioMedian <= ENGINE_TARGETS.perStepRatio && ratioMean <= ENGINE_TARGETS.perStepRatio,
  };
}

/** Many short instances started at once, then no-op jobs on Agenda alone. */
async function measureThroughput(args: {
  options: EngineBenchOptions;
  client: BenchClient;
  workflowId: string;
  sizes: EngineBenchSizes;
  settings: SchedulerSettings;
}): Promise<ThroughputFigures> {
  const { options, client, workflowId, sizes, settings } = args;
  const { log } = options;
  log(`engine: throughput, ${sizes.throughputInstances} instances of ${sizes.throughputSteps} steps, ${sizes.startConcurrency} starts in flight`);
  const many = await runManyInstances({ client, workflowId, instances: sizes.throughputInstances, sizes, log });
  const { steps, stepsPerSecond } = many;

  // Stock Agenda keeps finished jobs by default; that is also its faster setting here (no delete
  // per job), so the stricter ceiling.
  const ceiling = await measureRawAgenda({
    options,
    settings,
    jobs: sizes.ceilingJobs,
    concurrency: sizes.startConcurrency,
    removeOnComplete: false,
  });
  const ratioToCeiling = round(stepsPerSecond / ceiling.jobsPerSecond, 3);
  const scheduler = await measureSchedulerNoopJobs({ options, settings, jobs: sizes.ceilingJobs, concurrency: sizes.startConcurrency });
  return {
    ...many,
    agendaCeiling: ceiling,
    ratioToCeiling,
    schedulerNoopJobs: scheduler,
    ratioToSchedulerNoopJobs: round(stepsPerSecond / scheduler.jobsPerSecond, 3),
    target: { stepsPerSecond: ENGINE_TARGETS.stepsPerSecond, ratioToCeiling: ENGINE_TARGETS.ratioToCeiling },
    meets: stepsPerSecond >= ENGINE_TARGETS.stepsPerSecond && ratioToCeiling >= ENGINE_TARGETS.ratioToCeiling,
  };
}

function chainPeriodFigures(
  what: string,
  length: number,
  samples: readonly Pick<ChainSamples, 'runs' | 'periods' | 'gaps' | 'wallMs'>[],
): ChainPeriodFigures {
  const periods = samples.flatMap((s) => s.periods);
  return {
    what,
    instances: samples.reduce((n, s) => n + s.runs, 0),
    stepsPerInstance: length,
    pairs: periods.length,
    period: summarize(periods),
    gap: summarize(samples.flatMap((s) => s.gaps)),
    wall_s: round(samples.reduce((n, s) => n + s.wallMs, 0) / 1000, 2),
  };
}

function compareWithDbos(ours: number, dbos: number, direction: 'atMost' | 'atLeast', ratio: number): PeerComparison {
  const r = round(ours / dbos, 3);
  return {
    ours,
    dbos,
    ratio: r,
    target: direction === 'atMost' ? { ratioAtMost: ratio } : { ratioAtLeast: ratio },
    meets: direction === 'atMost' ? r <= ratio : r >= ratio,
  };
}

const DBOS_NEEDS_POSTGRES =
  'DBOS Transact keeps its state in a system database of its own on a Postgres server; the embedded database is one database inside this process. Set DATABASE_URL.';

/**
 * Ours (through the API) and DBOS Transact (in this process) on the same two workloads, in the
 * same run on the same Postgres server. The short chain one instance at a time goes ours, DBOS,
 * DBOS, ours (each side's runs split in two around the other's, after a warm-up of each), so that
 * load coming and going on the machine favours neither; then many instances at once, ours and
 * then DBOS, as the Agenda ceiling follows our throughput.
 */
async function measureAgainstDbos(args: {
  options: EngineBenchOptions;
  client: BenchClient;
  chainWorkflowId: string;
  manyWorkflowId: string;
  sizes: EngineBenchSizes;
  settings: SchedulerSettings;
}): Promise<{ peer: DbosPeerFigures; vs: DbosComparison } | DbosUnavailable> {
  const { options, client, chainWorkflowId, manyWorkflowId, sizes, settings } = args;
  const { app, log } = options;
  if (app.database.embedded) {
    log(`engine: DBOS comparison not run: ${DBOS_NEEDS_POSTGRES}`);
    return { notRun: DBOS_NEEDS_POSTGRES, meets: false };
  }
  const length = sizes.chainLength;
  const firstHalf = Math.ceil(sizes.dbosChainInstances / 2);
  const secondHalf = sizes.dbosChainInstances - firstHalf;
  const instances = sizes.dbosThroughputInstances;
  log('engine: DBOS Transact beside ours: launching DBOS on a system database next to ours');
  const peer = await startDbosPeer({ databaseUrl: app.database.url, adminSql: app.database.sql, poolSize: settings.DATABASE_POOL_SIZE, log });
  try {
    log(`  system database ${peer.setup.systemDatabase}, DBOS ${peer.setup.version}; warming up each side with ${LATENCY_WARMUP} runs of the ${length}-step chain`);
    await runChain({ client, workflowId: chainWorkflowId, length, runs: LATENCY_WARMUP, app: options.app });
    await peer.runChain({ runs: LATENCY_WARMUP, length });
    log(`  ${sizes.dbosChainInstances} sequential runs of the ${length}-step chain on each side (ours ${firstHalf}, DBOS ${firstHalf}, DBOS ${secondHalf}, ours ${secondHalf})`);
    const oursChainRuns = [await runChain({ client, workflowId: chainWorkflowId, length, runs: firstHalf, app: options.app })];
    const dbosChainRuns = [await peer.runChain({ runs: firstHalf, length })];
    if (secondHalf > 0) {
      dbosChainRuns.push(await peer.runChain({ runs: secondHalf, length }));
      oursChainRuns.push(await runChain({ client, workflowId: chainWorkflowId, length, runs: secondHalf, app: options.app }));
    }
    const oursChain = chainPeriodFigures(
      "ours through the API: trigger.manual then sms.send steps (sandbox), from the step runs' startedAt / finishedAt",
      length,
      oursChainRuns,
    );
    const dbosChain = chainPeriodFigures(
      'DBOS workflow: a trigger step then sms.send steps (an insert each), each checkpointed; times taken inside the steps',
      length,
      dbosChainRuns,
    );
    log(`  per-step period p50 / p99: ours ${oursChain.period.p50_ms} / ${oursChain.period.p99_ms} ms, DBOS ${dbosChain.period.p50_ms} / ${dbosChain.period.p99_ms} ms`);

    log(`  ours: ${instances} instances of ${sizes.throughputSteps} steps, ${sizes.startConcurrency} starts in flight`);
    const oursMany = await runManyInstances({ client, workflowId: manyWorkflowId, instances, sizes, log });
    log(`  DBOS: ${instances} workflows of ${sizes.throughputSteps} steps, ${sizes.startConcurrency} DBOS.startWorkflow calls in flight`);
    const run = await peer.runMany({ instances, steps: sizes.throughputSteps, concurrency: sizes.startConcurrency });
    const dbosMany = manyInstancesFigures({
      what: 'DBOS.startWorkflow of each (bounded), from the first start to every handle.getResult() returned',
      instances,
      stepsPerInstance: sizes.throughputSteps,
      startConcurrency: sizes.startConcurrency,
      ...run,
    });
    log(`  ${dbosMany.steps} steps in ${dbosMany.total_s} s: ${dbosMany.stepsPerSecond} steps/s`);

    const chainRuns = LATENCY_WARMUP + sizes.dbosChainInstances;
    const expected = {
      checkpoints: chainRuns * length + instances * sizes.throughputSteps,
      messages: chainRuns * (length - 1) + instances * (sizes.throughputSteps - 1),
    };
    const written = await peer.written();
    // A peer that skipped its checkpoints or its work would be a faster peer for nothing.
    if (written.checkpoints < expected.checkpoints || written.messages !== expected.messages) {
      throw new Error(`DBOS wrote ${JSON.stringify(written)} where its steps should have written ${JSON.stringify(expected)}`);
    }

    const startToStartMeets = oursChain.period.p99_ms <= ENGINE_TARGETS.startToStartP99Ms;
    const perStepP50 = compareWithDbos(oursChain.period.p50_ms, dbosChain.period.p50_ms, 'atMost', ENGINE_TARGETS.periodRatioToDbos);
    const perStepP99 = compareWithDbos(oursChain.period.p99_ms, dbosChain.period.p99_ms, 'atMost', ENGINE_TARGETS.periodRatioToDbos);
    const throughput = compareWithDbos(oursMany.stepsPerSecond, dbosMany.stepsPerSecond, 'atLeast', ENGINE_TARGETS.throughputRatioToDbos);
    return {
      peer: {
        setup: peer.setup,
        chain: dbosChain,
        throughput: dbosMany,
        written: {
          checkpoints: written.checkpoints,
          expectedCheckpoints: expected.checkpoints,
          messages: written.messages,
          expectedMessages: expected.messages,
        },
      },
      vs: {
        what: `per-step period (one step's start to the next one's) over ${sizes.dbosChainInstances} sequential runs of a ${length}-step chain (trigger + ${length - 1} sms.send: ${length - 1} pairs a run), and steps/s of ${instances} instances × ${sizes.throughputSteps} steps (trigger included); ours over DBOS's`,
        order: `chain: ours ${firstHalf}, DBOS ${firstHalf}, DBOS ${secondHalf}, ours ${secondHalf}; then many instances: ours, DBOS`,
        ours: { chain: oursChain, throughput: oursMany },
        perStepP50,
        perStepP99,
        throughput,
        startToStartP99: { ours_ms: oursChain.period.p99_ms, target: { p99_ms: ENGINE_TARGETS.startToStartP99Ms }, meets: startToStartMeets },
        meets: perStepP50.meets && perStepP99.meets && throughput.meets && startToStartMeets,
      },
    };
  } finally {
    await peer.stop().catch((err: unknown) => log(`engine: DBOS cleanup failed: ${String(err)}`));
  }
}

/**
 * `instances` instances of a workflow of `sizes.throughputSteps` steps, started at once through
 * the API (`sizes.startConcurrency` startWorkflow calls in flight), timed from the first start
 * to all COMPLETED.
 */
async function runManyInstances(args: {
  client: BenchClient;
  workflowId: string;
  instances: number;
  sizes: EngineBenchSizes;
  log: (message: string) => void;
}): Promise<ManyInstancesFigures> {
  const { client, workflowId, instances, sizes, log } = args;
  const steps = instances * sizes.throughputSteps;
  // Parts share their workflows: count only the instances this run completes.
  const before = (await instanceCounts(client, workflowId)).completed;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await startMany(client, workflowId, instances, sizes.startConcurrency);
  const startPhaseMs = since(t0);
  log(`  all started after ${round(startPhaseMs / 1000)} s`);
  await waitForCounts(client, workflowId, {
    done: (c) => c.completed >= before + instances,
    intervalMs: 100,
    timeoutMs: 30 * 60_000,
    what: 'throughput',
  });
  const totalMs = since(t0);
  const stepsPerSecond = round(steps / (totalMs / 1000), 1);
  log(`  ${steps} steps in ${round(totalMs / 1000)} s: ${stepsPerSecond} steps/s`);
  return manyInstancesFigures({
    what: 'instances started at once (bounded), from the first start to all COMPLETED',
    instances,
    stepsPerInstance: sizes.throughputSteps,
    startConcurrency: sizes.startConcurrency,
    startPhaseMs,
    totalMs,
    cpuMs: cpuMsSince(cpu0),
  });
}

function manyInstancesFigures(args: {
  what: string;
  instances: number;
  stepsPerInstance: number;
  startConcurrency: number;
  startPhaseMs: number;
  totalMs: number;
  cpuMs: number;
}): ManyInstancesFigures {
  const steps = args.instances * args.stepsPerInstance;
  return {
    what: args.what,
    instances: args.instances,
    stepsPerInstance: args.stepsPerInstance,
    steps,
    startConcurrency: args.startConcurrency,
    startPhase_s: round(args.startPhaseMs / 1000),
    total_s: round(args.totalMs / 1000),
    processCpuMsPerStep: round(args.cpuMs / steps),
    stepsPerSecond: round(steps / (args.totalMs / 1000), 1),
  };
}

/** A no-op job counter: `run` is the job's function, `finished` resolves at the `jobs`-th run. */
function countRuns(jobs: number): { run: () => Promise<void>; finished: Promise<void>; done: () => number } {
  let done = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const run = async () => {
    done += 1;
    if (done === jobs) allDone();
  };
  return { run, finished, done: () => done };
}

/**
 * Enqueues `jobs` no-op jobs (`concurrency` enqueues in flight) while the worker runs them, and
 * times them until the last one ran.
 */
async function timeNoopJobs(args: {
  what: string;
  jobs: number;
  concurrency: number;
  workerConcurrency: number;
  notifications: AgendaCeilingFigures['notifications'];
  counter: ReturnType<typeof countRuns>;
  enqueue: (i: number) => Promise<unknown>;
  log: (message: string) => void;
}): Promise<AgendaCeilingFigures> {
  const { jobs, counter, log } = args;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await mapBounded(jobs, args.concurrency, (i) => args.enqueue(i));
  const enqueueMs = since(t0);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 10 * 60_000)));
  const outcome = await Promise.race([counter.finished.then(() => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') throw new Error(`${args.what}: only ${counter.done()} of ${jobs} jobs ran`);
  const totalMs = since(t0);
  const cpuMs = cpuMsSince(cpu0);
  const jobsPerSecond = round(jobs / (totalMs / 1000), 1);
  log(`  ${jobs} jobs in ${round(totalMs / 1000)} s (enqueued in ${round(enqueueMs / 1000)} s): ${jobsPerSecond} jobs/s`);
  return {
    what: args.what,
    jobs,
    concurrency: args.workerConcurrency,
    notifications: args.notifications,
    enqueuePhase_s: round(enqueueMs / 1000),
    total_s: round(totalMs / 1000),
    processCpuMsPerJob: round(cpuMs / jobs),
    jobsPerSecond,
  };
}

/**
 * Stock Agenda, as its documentation sets it up, on the app's database (its own table): the
 * Postgres backend with its LISTEN/NOTIFY channel (on the embedded database, which cannot
 * LISTEN, notifications off and Agenda's in-memory channel, as the app runs there), the app's
 * worker settings, no-op jobs enqueued with `agenda.now()` while the worker runs.
 */
async function measureRawAgenda(args: {
  options: EngineBenchOptions;
  settings: SchedulerSettings;
  jobs: number;
  concurrency: number;
  removeOnComplete: boolean;
}): Promise<AgendaCeilingFigures> {
  const { options, settings, jobs, concurrency, removeOnComplete } = args;
  const { app, log } = options;
  const table = uniqueTableName('bench_raw_agenda');
  const embedded = app.database.embedded;
  const notifications = embedded ? 'in-memory' : 'backend';
  log(`engine: raw Agenda, ${jobs} no-op jobs in ${table} (concurrency ${settings.WORKER_CONCURRENCY}, notifications ${notifications}, removeOnComplete ${removeOnComplete})`);
  const agenda = new Agenda({
    backend: new PostgresBackend({
      connectionString: app.database.url,
      tableName: table,
      logTableName: `${table}_logs`,
      ...(embedded ? { disableNotifications: true } : {}),
    }),
    ...(embedded ? { notificationChannel: new InMemoryNotificationChannel() } : {}),
    processEvery: settings.SCHEDULER_POLL_MS,
    maxConcurrency: settings.WORKER_CONCURRENCY,
    defaultConcurrency: settings.WORKER_CONCURRENCY,
    defaultLockLifetime: settings.STEP_LEASE_MS,
    removeOnComplete,
  });
  const counter = countRuns(jobs);
  agenda.define('noop', counter.run);
  try {
    await agenda.start();
    return await timeNoopJobs({
      what: `stock Agenda: PostgresBackend, removeOnComplete ${removeOnComplete}, agenda.now() of a no-op job`,
      jobs,
      concurrency,
      workerConcurrency: settings.WORKER_CONCURRENCY,
      notifications,
      counter,
      enqueue: (i) => agenda.now('noop', { i }),
      log,
    });
  } finally {
    await agenda.stop();
    await dropSchedulerTable(app.database.sql, table);
  }
}

/**
 * No-op jobs through a second AgendaStepScheduler on the app's database, in a table of its own,
 * with the app's worker settings: enqueued while its worker runs, like steps are.
 */
async function measureSchedulerNoopJobs(args: {
  options: EngineBenchOptions;
  settings: SchedulerSettings;
  jobs: number;
  concurrency: number;
}): Promise<AgendaCeilingFigures> {
  const { options, settings, jobs, concurrency } = args;
  const { app, log } = options;
  const table = uniqueTableName('bench_ceiling');
  const notifications = app.database.embedded ? 'in-memory' : 'backend';
  log(`engine: our scheduler, ${jobs} no-op jobs in ${table} (concurrency ${settings.WORKER_CONCURRENCY}, notifications ${notifications})`);
  const scheduler = createStepScheduler({
    postgresUrl: app.database.url,
    notifications,
    logger: createLogger('silent'),
    lockLifetimeMs: settings.STEP_LEASE_MS,
    processEveryMs: settings.SCHEDULER_POLL_MS,
    concurrency: settings.WORKER_CONCURRENCY,
    tableName: table,
    asyncJobCommits: !app.database.embedded,
  });
  try {
    const counter = countRuns(jobs);
    await scheduler.startWorker(counter.run);
    return await timeNoopJobs({
      what: 'no-op jobs through a separate AgendaStepScheduler (same backend, own table), enqueued while its worker runs',
      jobs,
      concurrency,
      workerConcurrency: settings.WORKER_CONCURRENCY,
      notifications,
      counter,
      enqueue: (i) => scheduler.enqueue(`ceiling-${i}`),
      log,
    });
  } finally {
    await scheduler.stop();
    await dropSchedulerTable(app.database.sql, table);
  }
}

/** User + system CPU of this process since `start`, in ms. */
function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

type GcSource = MemoryFigures['gc'];

/** `gc()` if this process can reach it: `--expose-gc`, or the V8 flag set now (works on Node 20). */
function findGc(): { gc: (() => void) | undefined; source: GcSource } {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return { gc: exposed, source: 'global.gc' };
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    if (typeof fn === 'function') return { gc: () => (fn as () => void)(), source: 'v8.setFlagsFromString' };
  } catch {
    // no gc: readings include garbage
  }
  return { gc: undefined, source: 'unavailable' };
}

const MB = 1024 * 1024;

async function readMemory(gc: (() => void) | undefined): Promise<MemoryReading> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(200);
  }
  const m = process.memoryUsage();
  return {
    rssMb: round(m.rss / MB, 1),
    heapUsedMb: round(m.heapUsed / MB, 1),
    externalMb: round(m.external / MB, 1),
    arrayBuffersMb: round(m.arrayBuffers / MB, 1),
  };
}

/** RSS of the idle server against the same server with many instances waiting in a one-day delay. */
async function measureMemory(args: {
  options: EngineBenchOptions;
  client: BenchClient;
  workflowId: string;
  sizes: EngineBenchSizes;
}): Promise<MemoryFigures> {
  const { options, client, workflowId, sizes } = args;
  const { log } = options;
  const { gc, source } = findGc();
  log(`engine: memory; warming up with ${WAITING_WARMUP} waiting instances (gc: ${source})`);
  await startMany(client, workflowId, WAITING_WARMUP, sizes.startConcurrency);
  await waitForCounts(client, workflowId, { done: (c) => c.waiting >= WAITING_WARMUP, intervalMs: 100, timeoutMs: 60_000, what: 'memory warm-up' });
  await sleep(1000);
  const idle = await readMemory(gc);
  log(`  idle: rss ${idle.rssMb} MB, heap ${idle.heapUsedMb} MB; starting ${sizes.waitingInstances} instances`);
  const t0 = performance.now();
  let startedCount = 0;
  const progress = setInterval(() => log(`  ${startedCount} started`), 10_000);
  try {
    await mapBounded(sizes.waitingInstances, sizes.startConcurrency, async () => {
      await startInstance(client, workflowId);
      startedCount += 1;
    });
  } finally {
    clearInterval(progress);
  }
  const startPhaseMs = since(t0);
  const want = WAITING_WARMUP + sizes.waitingInstances;
  await waitForCounts(client, workflowId, { done: (c) => c.waiting >= want, intervalMs: 500, timeoutMs: 30 * 60_000, what: 'memory' });
  log(`  all ${sizes.waitingInstances} waiting after ${round(since(t0) / 1000)} s`);
  await sleep(1000);
  const loaded = await readMemory(gc);
  const growthMb = round(loaded.rssMb - idle.rssMb, 1);
  log(`  loaded: rss ${loaded.rssMb} MB (+${growthMb} MB), heap ${loaded.heapUsedMb} MB`);
  return {
    what: `server RSS with ${sizes.waitingInstances} instances WAITING in a 1-day delay, against the idle server`,
    instances: sizes.waitingInstances,
    gc: source,
    databaseInProcess: options.app.database.embedded,
    startPhase_s: round(startPhaseMs / 1000, 1),
    idle,
    loaded,
    growthMb,
    heapGrowthMb: round(loaded.heapUsedMb - idle.heapUsedMb, 1),
    target: { growthMb: ENGINE_TARGETS.memoryGrowthMb },
    meets: growthMb <= ENGINE_TARGETS.memoryGrowthMb,
  };
}

/**
 * Leaves a shared database as it was found, apart from what goes with the workspace: the jobs
 * of still-waiting instances (they would fire in a day, on whatever server then uses the job
 * table) and the sandbox's message records, which have no foreign key to their instances.
 */
async function cleanUp(options: EngineBenchOptions, workflowIds: readonly string[]): Promise<void> {
  const { app, log } = options;
  if (app.database.embedded || workflowIds.length === 0) return;
  const sql = app.database.sql;
  const pending = await sql<{ id: string }[]>`
    select sr.id from step_runs sr join workflow_instances wi on wi.id = sr.instance_id
    where wi.workflow_id in ${sql([...workflowIds])} and sr.status in ('SCHEDULED', 'RETRYING', 'RUNNING')`;
  if (pending.length > 0) {
    log(`engine: cleanup, cancelling ${pending.length} pending jobs`);
    const started = performance.now();
    const ids = pending.map((r) => r.id);
    for (let i = 0; i < ids.length; i += 200) await app.scheduler.cancel(ids.slice(i, i + 200));
    log(`  cancelled in ${round(since(started) / 1000)} s`);
  }
  await deleteOutboundMessages(app, workflowIds);
}
