/**
 * Realtime benchmark: many graphql-ws subscribers, each on its own socket, watch one workflow's
 * `workflowInstanceEvents` (or `workflowInstanceEventBatches`) while short instances run. Measures delivery latency (receipt
 * minus the event's commit-time `at`; server and clients share this process's clock), events
 * delivered per second, and that every subscriber got every event exactly once.
 *
 * The clients run in worker threads (realtime-clients.worker.ts, two by default): event loops of
 * their own, so a thousand independent dashboards are not all parsed on one thread that can use
 * at most one core; but the same process and the same two CPUs as the server.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../../src/server/config.js';
import {
  BenchClient,
  createPublishedChain,
  deleteOutboundMessages,
  listInstances,
  round,
  since,
  smsSteps,
  startInstance,
  startMany,
  startPaced,
  summarize,
  waitForCounts,
  waitForInstance,
  type BenchOptions,
  type Summary,
} from './bench-support.js';
import { postgresCpuBetween, postgresCpuSeconds, threadCpuSeconds } from './cpu-time.js';
import type { ExpectedInstance, FromWorker, RealtimeMode, RealtimeWorkerSetup, ToWorker, WorkerResult } from './realtime-clients.worker.js';

export const REALTIME_TARGETS = { p99Ms: 100, lost: 0, duplicated: 0 } as const;

export interface RealtimeBenchOptions extends BenchOptions {
  readonly subscribers?: number;
  readonly instances?: number;
  /** startWorkflow calls in flight at once. */
  readonly startConcurrency?: number;
  /** Sockets per API key the server allows; defaults to MAX_SOCKETS_PER_API_KEY from the environment. */
  readonly maxSocketsPerKey?: number;
  /** Which subscription the clients use; `events` by default. */
  readonly mode?: RealtimeMode;
  /** Worker threads the subscribers are spread over; 2 by default. */
  readonly clientThreads?: number;
  /**
   * Instances started per second in the measured run; by default they start all at once (with
   * `startConcurrency` in flight), so the engine runs as fast as the machine lets it.
   */
  readonly startRate?: number;
}

export interface RealtimeFigures {
  readonly what: string;
  /** `events`: workflowInstanceEvents (a message per event); `batches`: workflowInstanceEventBatches. */
  readonly mode: RealtimeMode;
  readonly subscribers: number;
  /** Instances started per second in the measured run, or `burst`: all at once. */
  readonly starts: number | 'burst';
  /** Where the clients ran: worker threads of the server's process (own event loops, shared CPUs). */
  readonly clientsInProcess: true;
  readonly clientsIn: 'worker_thread';
  readonly clientThreads: number;
  readonly apiKeys: number;
  readonly maxSocketsPerKey: number;
  readonly socketsConnected: number;
  readonly socketsRefused: number;
  readonly socketsDroppedDuringRun: number;
  readonly connect_s: number;
  readonly probe: { readonly subscribersReached: number; readonly waited_ms: number };
  readonly instances: number;
  readonly stepsPerInstance: number;
  readonly eventsPerInstance: number;
  /** From the first start to all COMPLETED, with the subscribers listening. */
  readonly run_s: number;
  /** The same, before any subscriber connected. */
  readonly baselineRun_s: number;
  /**
   * From the first measured start until every delivery arrived: how busy the server's event loop
   * and the clients' (mean of their worker threads) were, and the CPU cores this process used on average.
   */
  readonly busy: { readonly serverEventLoopUtilization: number; readonly clientsEventLoopUtilization: number; readonly processCpuCores: number };
  /**
   * Where the machine's CPU went over the same span, in cores on average (Linux only, else null):
   * the server's thread (engine, API, fan-out), the clients' threads, the rest of this process (GC
   * helpers, libuv's pool) and the local Postgres server, beside the cores the machine has.
   */
  readonly cpu: CpuSplit | null;
  /** The clients' CPU per message received (read, decode, JSON parse, bookkeeping), microseconds. */
  readonly clientCpuPerMessage_us: number | null;
  readonly deliveries: number;
  readonly expectedDeliveries: number;
  readonly latency: Summary;
  readonly deliverySpan_s: number;
  /** Messages per subscriber for the measured instances: events per message is how well they were batched. */
  readonly messagesPerSubscriber: number;
  readonly eventsPerMessage: number;
  readonly eventsPerSecond: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly unexpected: number;
  readonly completeSubscribers: number;
  readonly settledBy: WorkerResult['settledBy'];
  readonly subscriptionErrors: number;
  readonly subscriptionErrorSamples: readonly string[];
  readonly target: { readonly p99_ms: number; readonly lost: number; readonly duplicated: number };
  readonly meets: boolean;
  readonly duration_s: number;
}

export interface CpuSplit {
  readonly machineCores: number;
  readonly total_cores: number;
  readonly serverThread_cores: number;
  readonly clientThreads_cores: number;
  readonly restOfProcess_cores: number;
  readonly postgres_cores: number | null;
}

/** CPU readings at one moment: this thread, the client threads, the process, Postgres. */
interface CpuReading {
  readonly at: number;
  readonly serverThread: number | undefined;
  readonly clientThreads: number | undefined;
  readonly process: NodeJS.CpuUsage;
  readonly postgres: Map<number, number> | undefined;
}

async function readCpu(clients: ClientPool): Promise<CpuReading> {
  const clientThreads = await clients.cpu(10_000);
  return { at: performance.now(), serverThread: threadCpuSeconds(), clientThreads, process: process.cpuUsage(), postgres: postgresCpuSeconds() };
}

/** CPU seconds used between two readings, by part (a part this platform cannot read: undefined). */
function cpuBetween(before: CpuReading, after: CpuReading) {
  const minus = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a - b);
  return {
    wallS: (after.at - before.at) / 1000,
    processS: (after.process.user - before.process.user + after.process.system - before.process.system) / 1e6,
    serverS: minus(after.serverThread, before.serverThread),
    clientsS: minus(after.clientThreads, before.clientThreads),
    postgresS: postgresCpuBetween(before.postgres, after.postgres),
  };
}

function cpuSplit(used: ReturnType<typeof cpuBetween>): CpuSplit | null {
  const { wallS, processS, serverS, clientsS, postgresS } = used;
  if (serverS === undefined || clientsS === undefined) return null;
  const cores = (seconds: number) => round(seconds / wallS, 2);
  return {
    machineCores: availableParallelism(),
    total_cores: cores(processS + (postgresS ?? 0)),
    serverThread_cores: cores(serverS),
    clientThreads_cores: cores(clientsS),
    restOfProcess_cores: cores(Math.max(0, processS - serverS - clientsS)),
    postgres_cores: postgresS === undefined ? null : cores(postgresS),
  };
}

const CREATE_KEY = `mutation ($name: String!) { createApiKey(name: $name) { secret apiKey { id } } }`;
const REVOKE_KEY = `mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`;

/** Messages from the worker, awaited one at a time by type. */
class WorkerChannel {
  private readonly queue: FromWorker[] = [];
  private pending: { resolve(m: FromWorker): void; reject(err: Error): void } | undefined;
  private failure: Error | undefined;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'failed') return this.fail(new Error(`realtime worker failed: ${m.message}`));
      const pending = this.pending;
      this.pending = undefined;
      if (pending) pending.resolve(m);
      else this.queue.push(m);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`realtime worker exited with ${code}`));
    });
  }

  send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  async next<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>> {
    const message =
      this.queue.shift() ??
      (await new Promise<FromWorker>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        const timer = setTimeout(() => {
          this.pending = undefined;
          reject(new Error(`realtime worker: no '${type}' within ${timeoutMs} ms`));
        }, timeoutMs);
        this.pending = {
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
      }));
    if (message.type !== type) throw new Error(`realtime worker: expected '${type}', got '${message.type}'`);
    return message as Extract<FromWorker, { type: T }>;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(err);
  }
}

/** The subscribers, spread over worker threads: each message is sent to all, and their answers combined. */
class ClientPool {
  constructor(readonly channels: readonly WorkerChannel[]) {}

  static start(setup: RealtimeWorkerSetup, threads: number): ClientPool {
    const url = new URL('./realtime-clients.worker.js', import.meta.url);
    const shares = Array.from({ length: threads }, (_, i) => Math.floor(setup.subscribers / threads) + (i < setup.subscribers % threads ? 1 : 0));
    return new ClientPool(shares.filter((n) => n > 0).map((n) => new WorkerChannel(new Worker(url, { workerData: { ...setup, subscribers: n } }))));
  }

  /** Every thread's answer to `message`, or to nothing (`ready` comes unasked). */
  private async all<T extends FromWorker['type']>(message: ToWorker | undefined, type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>[]> {
    if (message) for (const c of this.channels) c.send(message);
    return Promise.all(this.channels.map((c) => c.next(type, timeoutMs)));
  }

  async ready(timeoutMs: number) {
    const readies = await this.all(undefined, 'ready', timeoutMs);
    const closeCodes: Record<string, number> = {};
    for (const r of readies) for (const [code, n] of Object.entries(r.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + n;
    return {
      connected: sum(readies, (r) => r.connected),
      refused: sum(readies, (r) => r.refused),
      closeCodes,
      connectMs: Math.max(...readies.map((r) => r.connectMs)),
    };
  }

  async probe(instance: ExpectedInstance, timeoutMs: number) {
    const probes = await this.all({ type: 'probe', instance, timeoutMs }, 'probed', timeoutMs + 30_000);
    return { reached: sum(probes, (p) => p.reached), waitedMs: Math.max(...probes.map((p) => p.waitedMs)) };
  }

  async expect(instances: readonly ExpectedInstance[], settleMs: number, timeoutMs: number): Promise<WorkerResult> {
    return combineResults(await this.all({ type: 'expect', instances, settleMs, timeoutMs }, 'result', timeoutMs + 60_000));
  }

  /** CPU seconds the client threads have used so far (summed), or undefined off Linux. */
  async cpu(timeoutMs: number): Promise<number | undefined> {
    const readings = await this.all({ type: 'cpu' }, 'cpu', timeoutMs);
    return readings.some((r) => r.seconds === undefined) ? undefined : sum(readings, (r) => r.seconds!);
  }

  async close(timeoutMs: number) {
    const closings = await this.all({ type: 'close' }, 'closed', timeoutMs);
    return {
      droppedSockets: sum(closings, (c) => c.droppedSockets),
      subscriptionErrors: sum(closings, (c) => c.subscriptionErrors),
      errorSamples: closings.flatMap((c) => c.errorSamples).slice(0, 5),
    };
  }

  /** Readings of each worker thread's event-loop utilization. */
  eventLoops(): EventLoopReading[] {
    return this.channels.map((c) => c.worker.performance.eventLoopUtilization());
  }

  terminate(): Promise<unknown> {
    return Promise.all(this.channels.map((c) => c.worker.terminate().catch(() => 0)));
  }
}

type EventLoopReading = ReturnType<typeof performance.eventLoopUtilization>;

/** Mean utilization of the worker threads' event loops between two readings. */
function meanUtilization(before: readonly EventLoopReading[], after: readonly EventLoopReading[]): number {
  return after.reduce((sum, reading, i) => sum + performance.eventLoopUtilization(reading, before[i]!).utilization, 0) / Math.max(1, after.length);
}

const sum = <T>(items: readonly T[], f: (item: T) => number): number => items.reduce((n, item) => n + f(item), 0);

/** One worker's result, or several combined. */
function combineResults(results: readonly WorkerResult[]): WorkerResult {
  const order: WorkerResult['settledBy'][] = ['complete', 'idle', 'timeout'];
  const withDeliveries = results.filter((r) => r.deliveries > 0);
  const firstAt = Math.min(...withDeliveries.map((r) => r.firstAt));
  const lastAt = Math.max(...withDeliveries.map((r) => r.lastAt));
  const latencies = new Float64Array(sum(results, (r) => r.latencies.length));
  let offset = 0;
  for (const r of results) {
    latencies.set(r.latencies, offset);
    offset += r.latencies.length;
  }
  return {
    type: 'result',
    deliveries: sum(results, (r) => r.deliveries),
    expectedDeliveries: sum(results, (r) => r.expectedDeliveries),
    lost: sum(results, (r) => r.lost),
    duplicated: sum(results, (r) => r.duplicated),
    unexpected: sum(results, (r) => r.unexpected),
    latencies,
    spanMs: withDeliveries.length > 0 ? lastAt - firstAt : 0,
    firstAt: withDeliveries.length > 0 ? firstAt : 0,
    lastAt: withDeliveries.length > 0 ? lastAt : 0,
    messages: sum(results, (r) => r.messages),
    completeSubscribers: sum(results, (r) => r.completeSubscribers),
    settledBy: order[Math.max(...results.map((r) => order.indexOf(r.settledBy)))]!,
    waitedMs: Math.max(...results.map((r) => r.waitedMs)),
  };
}

export async function runRealtimeBench(options: RealtimeBenchOptions): Promise<RealtimeFigures> {
  const { app, log } = options;
  const subscribers = options.subscribers ?? 1000;
  const mode = options.mode ?? 'events';
  const clientThreads = options.clientThreads ?? 2;
  const instances = options.instances ?? 200;
  const startConcurrency = options.startConcurrency ?? 50;
  const maxSocketsPerKey = options.maxSocketsPerKey ?? loadConfig(process.env).MAX_SOCKETS_PER_API_KEY;
  const client = new BenchClient(app.url, options.apiKey);
  const began = performance.now();
  const keyIds: string[] = [];
  let workflowId: string | undefined;
  let clients: ClientPool | undefined;

  try {
    // Keys of their own, so the per-key socket limit is checked here rather than shared with the caller.
    const keyCount = Math.ceil(subscribers / maxSocketsPerKey);
    const secrets: string[] = [];
    for (let i = 0; i < keyCount; i++) {
      const { createApiKey } = await client.request<{ createApiKey: { secret: string; apiKey: { id: string } } }>(CREATE_KEY, {
        name: `realtime bench ${i + 1}`,
      });
      secrets.push(createApiKey.secret);
      keyIds.push(createApiKey.apiKey.id);
    }
    workflowId = await createPublishedChain(client, `realtime bench ${new Date().toISOString()}`, smsSteps(2));
    const wf = workflowId;

    // The same run with nobody listening, to see what the fan-out costs the engine.
    log(`realtime: baseline, ${instances} instances with no subscriber`);
    const b0 = performance.now();
    const baselineIds = new Set(await startMany(client, wf, instances, startConcurrency));
    await waitForCounts(client, wf, { done: (c) => c.completed >= instances, intervalMs: 50, timeoutMs: 10 * 60_000, what: 'realtime baseline' });
    const baselineMs = since(b0);
    log(`  completed in ${round(baselineMs / 1000)} s`);

    log(`realtime: opening ${subscribers} graphql-ws sockets in ${clientThreads} worker thread(s) (${keyCount} key(s), at most ${maxSocketsPerKey} sockets per key)`);
    const setup: RealtimeWorkerSetup = {
      wsUrl: app.url.replace(/^http/, 'ws'),
      apiKeys: secrets,
      workflowId: wf,
      subscribers,
      connectConcurrency: 50,
      mode,
    };
    clients = ClientPool.start(setup, clientThreads);
    const ready = await clients.ready(180_000);
    log(`  ${ready.connected} connected, ${ready.refused} refused ${JSON.stringify(ready.closeCodes)} in ${round(ready.connectMs / 1000)} s`);
    if (ready.connected === 0) throw new Error('realtime: no socket connected');

    // One instance first, to know every subscription is live before the measured ones start.
    const probeId = await startInstance(client, wf);
    await waitForInstance(client, probeId, { intervalMs: 20, timeoutMs: 60_000 });
    const probeSeq = (await listInstances(client, wf)).find((i) => i.id === probeId);
    if (!probeSeq) throw new Error('realtime: probe instance not listed');
    const probed = await clients.probe({ id: probeId, eventSeq: probeSeq.eventSeq }, 60_000);
    log(`  probe instance reached ${probed.reached} subscribers after ${round(probed.waitedMs)} ms`);

    log(`realtime: running ${instances} instances (trigger + 2 sms.send), ${options.startRate ? `${options.startRate} starts per second` : "all at once"}, ${startConcurrency} starts in flight`);
    const serverElu0 = performance.eventLoopUtilization();
    const clientsElu0 = clients.eventLoops();
    const cpuBefore = await readCpu(clients);
    const t0 = performance.now();
    const measuredIds = new Set(
      await (options.startRate ? startPaced(client, wf, instances, options.startRate, startConcurrency) : startMany(client, wf, instances, startConcurrency)),
    );
    await waitForCounts(client, wf, { done: (c) => c.completed >= 2 * instances + 1, intervalMs: 50, timeoutMs: 10 * 60_000, what: 'realtime' });
    const runMs = since(t0);
    const measured = (await listInstances(client, wf)).filter((i) => measuredIds.has(i.id)).map((i) => ({ id: i.id, eventSeq: i.eventSeq }));
    if (measured.length !== instances || baselineIds.size !== instances) throw new Error('realtime: instances went missing');
    log(`  completed in ${round(runMs / 1000)} s; waiting for deliveries`);
    const result = await clients.expect(measured, 10_000, 5 * 60_000);
    const serverElu = performance.eventLoopUtilization(serverElu0).utilization;
    const clientsElu = meanUtilization(clientsElu0, clients.eventLoops());
    const cpuUsed = cpuBetween(cpuBefore, await readCpu(clients));
    const split = cpuSplit(cpuUsed);
    const closed = await clients.close(60_000);

    const latency = summarize(result.latencies);
    const eventsPerInstance = round(measured.reduce((n, i) => n + i.eventSeq, 0) / Math.max(1, measured.length), 2);
    const eventsPerSecond = round(result.deliveries / Math.max(0.001, result.spanMs / 1000), 0);
    log(
      `  ${result.deliveries}/${result.expectedDeliveries} deliveries, p50 ${latency.p50_ms} ms, p99 ${latency.p99_ms} ms, ` +
        `${eventsPerSecond} events/s, lost ${result.lost}, duplicated ${result.duplicated} (${result.settledBy})`,
    );
    if (split) {
      log(
        `  CPU, cores on average: server thread ${split.serverThread_cores}, client threads ${split.clientThreads_cores}, ` +
          `rest of the process ${split.restOfProcess_cores}, Postgres ${split.postgres_cores ?? 'n/a'}; ${split.total_cores} of ${split.machineCores}`,
      );
    }
    return {
      what: `commit (event \`at\`) to receipt by each graphql-ws subscriber of ${mode === 'events' ? 'workflowInstanceEvents' : 'workflowInstanceEventBatches'}, one socket per subscriber`,
      mode,
      subscribers,
      starts: options.startRate ?? 'burst',
      clientsInProcess: true,
      clientsIn: 'worker_thread',
      clientThreads: clients.channels.length,
      apiKeys: keyCount,
      maxSocketsPerKey,
      socketsConnected: ready.connected,
      socketsRefused: ready.refused,
      socketsDroppedDuringRun: closed.droppedSockets,
      connect_s: round(ready.connectMs / 1000),
      probe: { subscribersReached: probed.reached, waited_ms: round(probed.waitedMs) },
      instances,
      stepsPerInstance: 3,
      eventsPerInstance,
      run_s: round(runMs / 1000),
      baselineRun_s: round(baselineMs / 1000),
      busy: {
        serverEventLoopUtilization: round(serverElu, 3),
        clientsEventLoopUtilization: round(clientsElu, 3),
        processCpuCores: round(cpuUsed.processS / cpuUsed.wallS, 2),
      },
      cpu: split,
      clientCpuPerMessage_us: cpuUsed.clientsS === undefined || result.messages === 0 ? null : round((cpuUsed.clientsS * 1e6) / result.messages, 1),
      deliveries: result.deliveries,
      expectedDeliveries: result.expectedDeliveries,
      latency,
      deliverySpan_s: round(result.spanMs / 1000),
      messagesPerSubscriber: round(result.messages / Math.max(1, ready.connected), 1),
      eventsPerMessage: round(result.deliveries / Math.max(1, result.messages), 2),
      eventsPerSecond,
      lost: result.lost,
      duplicated: result.duplicated,
      unexpected: result.unexpected,
      completeSubscribers: result.completeSubscribers,
      settledBy: result.settledBy,
      subscriptionErrors: closed.subscriptionErrors,
      subscriptionErrorSamples: closed.errorSamples,
      target: { p99_ms: REALTIME_TARGETS.p99Ms, lost: REALTIME_TARGETS.lost, duplicated: REALTIME_TARGETS.duplicated },
      meets:
        latency.p99_ms <= REALTIME_TARGETS.p99Ms &&
        result.lost <= REALTIME_TARGETS.lost &&
        result.duplicated <= REALTIME_TARGETS.duplicated &&
        ready.refused === 0,
      duration_s: round(since(began) / 1000, 1),
    };
  } finally {
    if (clients) await clients.terminate();
    for (const id of keyIds) await client.request(REVOKE_KEY, { id }).catch(() => undefined);
    if (workflowId) await deleteOutboundMessages(app, [workflowId]).catch((err: unknown) => log(`realtime: cleanup failed: ${String(err)}`));
  }
}
