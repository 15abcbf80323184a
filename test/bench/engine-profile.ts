import 'reflect-metadata';
/**
 * Where a step's time goes: `npm run build && node dist/test/bench/engine-profile.js`.
 *
 * A diagnostic companion of engine.bench.ts, not a benchmark: it starts the app like engine-main
 * does, then reaches into the running engine (test-only casts to its private `deps`) to time
 * each leg between one step finishing and the next one starting, and counts the SQL statements
 * per step of the app's driver (postgres.js `debug` hook) and of Agenda's (pg `Client#query`).
 * Prints one JSON object to stdout.
 *
 * PROFILE_SEQUENTIAL sequential runs of a PROFILE_CHAIN-step chain; PROFILE_BURST instances of a
 * 5-step chain started at once; then PROFILE_RT_INSTANCES instances of a 3-step chain,
 * PROFILE_RT_CONCURRENCY started at a time, watched by one graphql-ws
 * subscriber here, with each event's path from commit to receipt split into legs.
 * PROFILE_PRE_BURST runs that many 5-step instances, unmeasured, before everything else (a used database);
 * PROFILE_VACUUM=1 then runs VACUUM ANALYZE.
 * PROFILE_HOLD_XID_MS (real Postgres only): meanwhile, another connection holds a transaction that
 * has a transaction id (and touches nothing) open this long, as any unrelated writer might.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import postgres from 'postgres';
import type { EngineDeps } from '../../src/engine/engine-deps.js';
import type { InstanceEventRecord, RunChange } from '../../src/ports/run-records.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { RunFeedRepository } from '../../src/persistence/run-feed.repository.js';
import type { App } from '../../src/server/app.js';
import { withBenchApp } from './bench-app.js';
import {
  BenchClient,
  createPublishedChain,
  round,
  since,
  smsSteps,
  startInstance,
  startMany,
  summarize,
  waitForCounts,
  waitForInstance,
} from './bench-support.js';

const log = (message: string): void => {
  process.stderr.write(`[engine-profile] ${message}\n`);
};

/** Statement counts and (for Agenda's driver) time, keyed by the statement's first words. */
class QueryTally {
  private readonly counts = new Map<string, { n: number; ms: number }>();
  total = 0;

  add(text: string, ms = 0): void {
    // Literals (NOTIFY payloads) would make every statement its own key.
    const key = text.replace(/'[^']*'/g, "'?'").replace(/\s+/g, ' ').trim().slice(0, 70);
    const entry = this.counts.get(key) ?? { n: 0, ms: 0 };
    entry.n += 1;
    entry.ms += ms;
    this.counts.set(key, entry);
    this.total += 1;
  }

  reset(): void {
    this.counts.clear();
    this.total = 0;
  }

  /** Per step: how many of each statement, and their mean time. */
  perStep(steps: number): Record<string, { perStep: number; mean_ms: number }> {
    const rows = [...this.counts.entries()].sort((a, b) => b[1].n - a[1].n);
    return Object.fromEntries(rows.map(([k, v]) => [k, { perStep: round(v.n / steps, 2), mean_ms: round(v.ms / v.n, 2) }]));
  }
}

interface PgClientPrototype {
  query(this: unknown, config: unknown, values?: unknown, callback?: unknown): unknown;
}

/** Counts and times every query through `pg` (Agenda's Postgres backend uses it). */
function tallyPg(tally: QueryTally): void {
  const require = createRequire(import.meta.url);
  const pg = require('pg') as { Client: { prototype: PgClientPrototype } };
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: unknown, config: unknown, values?: unknown, callback?: unknown): unknown {
    const text = typeof config === 'string' ? config : String((config as { text?: unknown } | null)?.text ?? '?');
    const started = performance.now();
    const done = () => tally.add(text, performance.now() - started);
    if (typeof values === 'function') {
      callback = values;
      values = undefined;
    }
    if (typeof callback === 'function') {
      const cb = callback as (err: unknown, res: unknown) => void;
      return original.call(this, config, values, (err: unknown, res: unknown) => {
        done();
        cb(err, res);
      });
    }
    const result = original.call(this, config, values);
    if (result instanceof Promise) result.then(done, done);
    return result;
  };
}

/** Timestamps (performance.now) of each leg of one step run. */
interface Legs {
  succeedCommitStart?: number;
  succeedCommitEnd?: number;
  enqueueStart?: number;
  enqueueEnd?: number;
  executeStart?: number;
  loaded?: number;
  startCommitStart?: number;
  startCommitEnd?: number;
  executeEnd?: number;
}

/** Wraps the engine's store, scheduler and executor (test-only) to time each leg per step run. */
function instrument(app: App): Map<string, Legs> {
  const legs = new Map<string, Legs>();
  const of = (id: string): Legs => {
    let l = legs.get(id);
    if (!l) legs.set(id, (l = {}));
    return l;
  };
  const deps = (app.engine.executor as unknown as { deps: EngineDeps }).deps;
  const runs = deps.runs;
  const commit = runs.commit.bind(runs);
  runs.commit = async (change: RunChange) => {
    const step = change.steps?.[0];
    const t0 = performance.now();
    const result = await commit(change);
    const t1 = performance.now();
    if (step?.event === 'succeed') Object.assign(of(step.stepRunId), { succeedCommitStart: t0, succeedCommitEnd: t1 });
    if (step?.event === 'start') Object.assign(of(step.stepRunId), { startCommitStart: t0, startCommitEnd: t1 });
    return result;
  };
  const load = runs.loadForExecution.bind(runs);
  runs.loadForExecution = async (id: string) => {
    const row = await load(id);
    of(id).loaded = performance.now();
    return row;
  };
  const enqueue = deps.scheduler.enqueue.bind(deps.scheduler);
  deps.scheduler.enqueue = async (id: string, runAt?: Date) => {
    const l = of(id);
    l.enqueueStart = performance.now();
    await enqueue(id, runAt);
    l.enqueueEnd = performance.now();
  };
  const executor = app.engine.executor;
  const execute = executor.execute.bind(executor);
  executor.execute = async (id: string) => {
    of(id).executeStart = performance.now();
    await execute(id);
    of(id).executeEnd = performance.now();
  };
  return legs;
}

const SEGMENTS = {
  'A succeed commit': (a: Legs, _b: Legs) => diff(a.succeedCommitStart, a.succeedCommitEnd),
  'A commit end -> enqueue(B) start': (a: Legs, b: Legs) => diff(a.succeedCommitEnd, b.enqueueStart),
  'enqueue(B) (save + notify)': (_a: Legs, b: Legs) => diff(b.enqueueStart, b.enqueueEnd),
  'enqueue(B) start -> B handler called (notify, lock, job state save)': (_a: Legs, b: Legs) => diff(b.enqueueStart, b.executeStart),
  'B handler called -> B loaded': (_a: Legs, b: Legs) => diff(b.executeStart, b.loaded),
  'B loaded -> B start commit (startedAt)': (_a: Legs, b: Legs) => diff(b.loaded, b.startCommitStart),
  'A finished -> B startedAt (total gap)': (a: Legs, b: Legs) => diff(a.succeedCommitStart, b.startCommitStart),
  'B start commit': (_a: Legs, b: Legs) => diff(b.startCommitStart, b.startCommitEnd),
  'B handler, whole': (_a: Legs, b: Legs) => diff(b.executeStart, b.executeEnd),
} as const;

function diff(from: number | undefined, to: number | undefined): number | undefined {
  return from === undefined || to === undefined ? undefined : to - from;
}

/** Per event (`instanceId#seq`): when its commit returned, when the feed read it, when the client got it (epoch ms, fractional). */
interface EventLegs {
  at: number;
  committed?: number;
  read?: number;
  received?: number;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

/** Wraps the run stores' feed queries and the engine's event listener (test-only) to time each event's way out. */
function instrumentRealtime(app: App): { events: Map<string, EventLegs>; horizonQueries: () => number } {
  const events = new Map<string, EventLegs>();
  const key = (e: InstanceEventRecord) => `${e.instanceId}#${e.seq}`;
  const of = (e: InstanceEventRecord): EventLegs => {
    let l = events.get(key(e));
    if (!l) events.set(key(e), (l = { at: e.at.getTime() }));
    return l;
  };
  const deps = (app.engine.executor as unknown as { deps: { onEvents?: (events: readonly InstanceEventRecord[]) => void; runs: EngineDeps['runs'] } }).deps;
  const onEvents = deps.onEvents;
  deps.onEvents = (list) => {
    const t = epochNow();
    for (const e of list) of(e).committed = t;
    onEvents?.(list);
  };
  // The live streams read through a run store of their own (their own pool): wrap the class.
  const proto = RunFeedRepository.prototype;
  const workflowEvents = proto.workflowEvents;
  proto.workflowEvents = async function (this: RunFeedRepository, query) {
    const rows = await workflowEvents.call(this, query);
    const t = epochNow();
    for (const e of rows) of(e).read ??= t;
    return rows;
  };
  let horizons = 0;
  const toHorizon = proto.workflowEventsToHorizon;
  proto.workflowEventsToHorizon = async function (this: RunFeedRepository, query) {
    horizons += 1;
    const result = await toHorizon.call(this, query);
    const t = epochNow();
    for (const e of result.events) of(e).read ??= t;
    return result;
  };
  const horizon = proto.horizon;
  proto.horizon = function (this: RunFeedRepository) {
    horizons += 1;
    return horizon.call(this);
  };
  return { events, horizonQueries: () => horizons };
}

const SUBSCRIPTION = `subscription ($workflowId: ID!) {
  workflowInstanceEvents(workflowId: $workflowId) { event { instanceId seq at } } }`;

/**
 * CPU (ms) used so far by every `postgres` process on this machine (Linux /proc), to see what the
 * database server spends per step. Other clients of the same server count too.
 */
function postgresCpuMs(): number | undefined {
  try {
    const ticksPerSecond = 100; // USER_HZ on Linux
    let ticks = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      if (comm !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    }
    return (ticks / ticksPerSecond) * 1000;
  } catch {
    return undefined;
  }
}

const STEP_RUNS = `query ($id: ID!) { workflowInstance(id: $id) { stepRuns { id stepId } } }`;

async function main(): Promise<number> {
  const url = process.env.DATABASE_URL || undefined;
  const sequential = Number(process.env.PROFILE_SEQUENTIAL ?? 20);
  const burst = Number(process.env.PROFILE_BURST ?? 300);
  const agendaQueries = new QueryTally();
  tallyPg(agendaQueries);
  return withBenchApp({ label: 'engine profile', tablePrefix: 'bench_prof', log }, async ({ app, apiKey }) => {
    const appQueries = new QueryTally();
    (app.database.sql.options as { debug?: unknown }).debug = (_conn: number, text: string) => appQueries.add(text);
    const legs = instrument(app);
    const live = instrumentRealtime(app);
    const client = new BenchClient(app.url, apiKey);
    const length = Number(process.env.PROFILE_CHAIN ?? 10);
    const chain = await createPublishedChain(client, `profile chain ${length}`, smsSteps(length - 1));
    const short = await createPublishedChain(client, 'profile burst 5', smsSteps(4));
    const preBurst = Number(process.env.PROFILE_PRE_BURST ?? 0);
    if (preBurst > 0) {
      log(`pre-burst: ${preBurst} instances of a 5-step chain, not measured`);
      await startMany(client, short, preBurst, 50);
      await waitForCounts(client, short, { done: (c) => c.completed >= preBurst, intervalMs: 100, timeoutMs: 30 * 60_000, what: 'pre-burst' });
      if (process.env.PROFILE_VACUUM === '1') {
        // What autovacuum would have done by now on a real server (PGlite runs none).
        log('vacuum analyze');
        await app.database.sql.unsafe('vacuum analyze');
      }
    }
    const warmups = length > 100 ? 0 : 3;
    for (let i = 0; i < warmups; i++) await waitForInstance(client, await startInstance(client, chain), { intervalMs: 20, timeoutMs: 60_000 });

    log(`${sequential} sequential runs of a ${length}-step chain`);
    appQueries.reset();
    agendaQueries.reset();
    const segments = new Map<string, number[]>(Object.keys(SEGMENTS).map((k) => [k, []]));
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < sequential; i++) {
      const id = await startInstance(client, chain);
      await waitForInstance(client, id, { intervalMs: 50, timeoutMs: 10 * 60_000 });
      ids.push(id);
    }
    const wallS = since(t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    loopDelay.disable();
    const sequentialQueries = { app: appQueries.perStep(sequential * length), agenda: agendaQueries.perStep(sequential * length) };
    const totals = { appPerStep: round(appQueries.total / (sequential * length), 1), agendaPerStep: round(agendaQueries.total / (sequential * length), 1) };
    for (const id of ids) {
      const { workflowInstance } = await client.request<{ workflowInstance: { stepRuns: { id: string; stepId: string }[] } }>(STEP_RUNS, { id });
      const byStep = new Map(workflowInstance.stepRuns.map((r) => [r.stepId, r.id]));
      for (let i = 1; i < length; i++) {
        const a = legs.get(byStep.get(i === 1 ? 't' : `s${i - 1}`) ?? '');
        const b = legs.get(byStep.get(`s${i}`) ?? '');
        if (!a || !b) continue;
        for (const [name, f] of Object.entries(SEGMENTS)) {
          const v = f(a, b);
          if (v !== undefined) segments.get(name)!.push(v);
        }
      }
    }
    const legsSummary = Object.fromEntries(
      [...segments.entries()].map(([k, v]) => {
        const s = summarize(v);
        return [k, { p50_ms: s.p50_ms, mean_ms: s.mean_ms, p99_ms: s.p99_ms, n: s.n }];
      }),
    );

    log(`${burst} instances of a 5-step chain at once`);
    appQueries.reset();
    agendaQueries.reset();
    const burstCpu0 = process.cpuUsage();
    const pgCpu0 = postgresCpuMs();
    const b0 = performance.now();
    await startMany(client, short, burst, 50);
    await waitForCounts(client, short, { done: (c) => c.completed >= preBurst + burst, intervalMs: 100, timeoutMs: 20 * 60_000, what: 'burst' });
    const burstS = since(b0) / 1000;
    const burstCpu = process.cpuUsage(burstCpu0);
    const pgCpu1 = postgresCpuMs();
    const steps = burst * 5;

    const rtInstances = Number(process.env.PROFILE_RT_INSTANCES ?? 20);
    const rtConcurrency = Number(process.env.PROFILE_RT_CONCURRENCY ?? 1);
    log(`realtime: ${rtInstances} instances of a 3-step chain, ${rtConcurrency} at a time, one subscriber`);
    const rtWorkflow = await createPublishedChain(client, 'profile realtime', smsSteps(2));
    const ws = createClient({
      url: app.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${apiKey}` },
      lazy: false,
      retryAttempts: 0,
    });
    let received = 0;
    const stop = ws.subscribe<{ workflowInstanceEvents: { event: { instanceId: string; seq: number; at: string } } }>(
      { query: SUBSCRIPTION, variables: { workflowId: rtWorkflow } },
      {
        next: (value) => {
          const t = epochNow();
          const e = value.data?.workflowInstanceEvents.event;
          if (!e) return;
          const l = live.events.get(`${e.instanceId}#${e.seq}`);
          if (l) l.received = t;
          received += 1;
        },
        error: () => {},
        complete: () => {},
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    live.events.clear();
    const horizons0 = live.horizonQueries();
    const holdMs = Number(process.env.PROFILE_HOLD_XID_MS ?? 0);
    let holding: Promise<void> = Promise.resolve();
    if (holdMs > 0 && url) {
      const other = postgres(url, { max: 1, onnotice: () => {} });
      holding = other
        .begin(async (tx) => {
          await tx`select pg_current_xact_id()`;
          await tx`select pg_sleep(${holdMs / 1000})`;
        })
        .then(() => other.end({ timeout: 5 }));
    }
    const rtIds = await startMany(client, rtWorkflow, rtInstances, rtConcurrency);
    await holding;
    await waitForCounts(client, rtWorkflow, { done: (c) => c.completed >= rtInstances, intervalMs: 50, timeoutMs: 5 * 60_000, what: 'realtime' });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    stop();
    await ws.dispose();
    const rtSet = new Set(rtIds);
    const rtLegs = [...live.events.entries()].filter(([k]) => rtSet.has(k.split('#')[0]!)).map(([, v]) => v);
    const leg = (f: (l: EventLegs) => number | undefined) => {
      const s = summarize(rtLegs.map(f).filter((v): v is number => v !== undefined));
      return { p50_ms: s.p50_ms, mean_ms: s.mean_ms, p99_ms: s.p99_ms, n: s.n };
    };
    const realtime = {
      instances: rtInstances,
      concurrency: rtConcurrency,
      heldXidMs: holdMs,
      events: rtLegs.length,
      received,
      horizonQueriesPerEvent: round((live.horizonQueries() - horizons0) / Math.max(1, rtLegs.length), 2),
      legs: {
        'at (transaction start) -> commit returned': leg((l) => diff(l.at, l.committed)),
        'commit returned -> read by the workflow feed': leg((l) => diff(l.committed, l.read)),
        'read by the feed -> received by the client': leg((l) => diff(l.read, l.received)),
        'at -> received (total)': leg((l) => diff(l.at, l.received)),
      },
    };

    process.stdout.write(
      JSON.stringify(
        {
          realtime,
          database: app.database.embedded ? 'embedded' : 'postgres',
          loadAverage: loadavg().map((l) => round(l)),
          sequential: {
            runs: sequential,
            wall_s: round(wallS),
            processCpu_s: round((cpu.user + cpu.system) / 1e6),
            eventLoopDelay_ms: { p50: round(loopDelay.percentile(50) / 1e6), p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) },
            legs: legsSummary,
            statementsPerStep: totals,
            queries: sequentialQueries,
          },
          burst: {
            instances: burst,
            steps,
            wall_s: round(burstS),
            stepsPerSecond: round(steps / burstS, 1),
            processCpu_s: round((burstCpu.user + burstCpu.system) / 1e6),
            processCpuMsPerStep: round(((burstCpu.user + burstCpu.system) / 1e3) / steps),
            postgresServerCpuMsPerStep:
              !app.database.embedded && pgCpu0 !== undefined && pgCpu1 !== undefined ? round((pgCpu1 - pgCpu0) / steps) : null,
            statementsPerStep: { app: round(appQueries.total / steps, 1), agenda: round(agendaQueries.total / steps, 1) },
            queries: { app: appQueries.perStep(steps), agenda: agendaQueries.perStep(steps) },
          },
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[engine-profile] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
