import 'reflect-metadata';
/**
 * Engine and realtime benchmark: `npm run build && node dist/test/bench/engine-main.js`.
 *
 * Starts the app in-process like bench.ts does (real Postgres when DATABASE_URL is set, else an
 * embedded database in a temporary directory), runs the engine and realtime benchmarks and prints
 * one JSON object to stdout; progress goes to stderr. Leaves a shared database as it found it.
 *
 * BENCH_PHASES=engine,realtime picks phases; ENGINE_PARTS=latency,throughput,dbos,perStep,memory picks the
 * engine's measurements; BENCH_QUICK=1 shrinks every size (a smoke run, not figures);
 * REALTIME_SUBSCRIBERS, REALTIME_INSTANCES and REALTIME_START_CONCURRENCY override the realtime sizes,
 * REALTIME_CLIENT_THREADS the worker threads the subscribers run in, REALTIME_START_RATE starts the
 * measured instances at that many per second instead of all at once;
 * REALTIME_MODES=events,batches picks the subscriptions measured (a message per event, per batch);
 * DBOS_CHAIN_INSTANCES and DBOS_THROUGHPUT_INSTANCES override the sizes of the DBOS comparison.
 */
import { cpus, loadavg } from 'node:os';
import { vacuumWithoutAutovacuum, withBenchApp } from './bench-app.js';
import { ENGINE_PARTS, runEngineBench, type EngineBenchSizes, type EngineFigures, type EnginePart } from './engine.bench.js';
import type { RealtimeMode } from './realtime-clients.worker.js';
import { runRealtimeBench, type RealtimeFigures } from './realtime.bench.js';

const log = (message: string): void => {
  process.stderr.write(`[engine-bench] ${message}\n`);
};

const QUICK_SIZES: EngineBenchSizes = {
  latencyInstances: 5,
  chainLength: 10,
  throughputInstances: 100,
  throughputSteps: 5,
  ceilingJobs: 300,
  longChainLength: 200,
  waitingInstances: 300,
  startConcurrency: 50,
  dbosChainInstances: 6,
  dbosThroughputInstances: 100,
};

/** The 1-minute load average sampled every 5 s while the benchmarks ran (this process counts too). */
function summarizeLoad(samples: readonly number[]): { min: number; mean: number; max: number; samples: number } {
  const r = (v: number) => Math.round(v * 100) / 100;
  if (samples.length === 0) return { min: Number.NaN, mean: Number.NaN, max: Number.NaN, samples: 0 };
  return {
    min: r(Math.min(...samples)),
    mean: r(samples.reduce((a, b) => a + b, 0) / samples.length),
    max: r(Math.max(...samples)),
    samples: samples.length,
  };
}

function realtimeModes(list: string): RealtimeMode[] {
  const modes = list.split(',').map((m) => m.trim());
  const unknown = modes.filter((m) => m !== 'events' && m !== 'batches');
  if (unknown.length > 0) throw new Error(`REALTIME_MODES: unknown ${unknown.join(', ')}; known: events, batches`);
  return modes as RealtimeMode[];
}

/** A size from the environment: a positive integer, or absent. */
function sizeFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: expected a positive integer, got '${raw}'`);
  return value;
}

function engineSizes(quick: boolean): Partial<EngineBenchSizes> {
  const dbosChainInstances = sizeFromEnv('DBOS_CHAIN_INSTANCES');
  const dbosThroughputInstances = sizeFromEnv('DBOS_THROUGHPUT_INSTANCES');
  return {
    ...(quick ? QUICK_SIZES : {}),
    ...(dbosChainInstances !== undefined ? { dbosChainInstances } : {}),
    ...(dbosThroughputInstances !== undefined ? { dbosThroughputInstances } : {}),
  };
}

function engineParts(list: string): Set<EnginePart> {
  const parts = list.split(',').map((p) => p.trim());
  const unknown = parts.filter((p) => !(ENGINE_PARTS as readonly string[]).includes(p));
  if (unknown.length > 0) throw new Error(`ENGINE_PARTS: unknown ${unknown.join(', ')}; known: ${ENGINE_PARTS.join(', ')}`);
  return new Set(parts as EnginePart[]);
}

async function main(): Promise<number> {
  const phases = new Set((process.env.BENCH_PHASES ?? 'engine,realtime').split(',').map((p) => p.trim()));
  const quick = process.env.BENCH_QUICK === '1';
  return withBenchApp({ label: 'engine bench', tablePrefix: 'bench_jobs', log }, async ({ app, config, apiKey }) => {
    // Other work on the machine moves every figure here; the load average says how much there was.
    const loadBefore = loadavg().map((l) => Math.round(l * 100) / 100);
    const loadSamples: number[] = [];
    const sampler = setInterval(() => loadSamples.push(loadavg()[0]!), 5000);
    sampler.unref();
    let vacuumedBeforeEachPart = false;
    const vacuum = async () => {
      vacuumedBeforeEachPart = await vacuumWithoutAutovacuum(app, log);
    };
    let engine: EngineFigures | undefined;
    let realtime: Partial<Record<RealtimeMode, RealtimeFigures>> | undefined;
    if (phases.has('engine')) {
      engine = await runEngineBench({
        app,
        apiKey,
        log,
        settings: config,
        sizes: engineSizes(quick),
        ...(process.env.ENGINE_PARTS ? { parts: engineParts(process.env.ENGINE_PARTS) } : {}),
        beforeEachPart: vacuum,
      });
    }
    if (phases.has('realtime')) realtime = {};
    for (const mode of phases.has('realtime') ? realtimeModes(process.env.REALTIME_MODES ?? 'events,batches') : []) {
      await vacuum();
      realtime![mode] = await runRealtimeBench({
        app,
        apiKey,
        log,
        mode,
        maxSocketsPerKey: config.MAX_SOCKETS_PER_API_KEY,
        ...(quick ? { subscribers: 50, instances: 20 } : {}),
        ...(process.env.REALTIME_SUBSCRIBERS ? { subscribers: Number(process.env.REALTIME_SUBSCRIBERS) } : {}),
        ...(process.env.REALTIME_INSTANCES ? { instances: Number(process.env.REALTIME_INSTANCES) } : {}),
        ...(process.env.REALTIME_START_CONCURRENCY ? { startConcurrency: Number(process.env.REALTIME_START_CONCURRENCY) } : {}),
        ...(process.env.REALTIME_CLIENT_THREADS ? { clientThreads: Number(process.env.REALTIME_CLIENT_THREADS) } : {}),
        ...(process.env.REALTIME_START_RATE ? { startRate: Number(process.env.REALTIME_START_RATE) } : {}),
      });
    }
    clearInterval(sampler);
    const result = {
      database: app.database.embedded ? 'embedded' : 'postgres',
      node: process.version,
      cpus: cpus().length,
      loadAverage: {
        before: loadBefore,
        after: loadavg().map((l) => Math.round(l * 100) / 100),
        oneMinuteDuringRun: summarizeLoad(loadSamples),
      },
      quick,
      /** VACUUM ANALYZE ran before each part: the database runs no autovacuum. */
      vacuumedBeforeEachPart,
      engine,
      realtime,
      meets: (engine?.meets ?? true) && Object.values(realtime ?? {}).every((r) => r.meets),
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[engine-bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
