/**
 * Realtime benchmark: many graphql-ws subscribers, each on its own socket, watch one workflow's
 * `workflowInstanceEvents` while short instances run. Measures delivery latency (receipt
 * minus the event's commit-time `at`; server and clients share this process's clock), events
 * delivered per second, and that every subscriber got every event exactly once.
 *
 * The clients run in a worker thread (realtime-clients.worker.ts): their own event loop, but the
 * same process and CPUs as the server.
 */
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
  summarize,
  waitForCounts,
  waitForInstance,
  type BenchOptions,
  type Summary,
} from './bench-support.js';
import type { FromWorker, RealtimeMode, RealtimeWorkerSetup, ToWorker, WorkerResult } from './realtime-clients.worker.js';

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
}

export interface RealtimeFigures {
  readonly what: string;
  /** `events`: workflowInstanceEvents (a message per event); `batches`: workflowInstanceEventBatches. */
  readonly mode: RealtimeMode;
  readonly subscribers: number;
  /** Where the clients ran: a worker thread of the server's process (own event loop, shared CPUs). */
  readonly clientsInProcess: true;
  readonly clientsIn: 'worker_thread';
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
   * and the clients' (worker thread) were, and the CPU cores this process used on average.
   */
  readonly busy: { readonly serverEventLoopUtilization: number; readonly clientsEventLoopUtilization: number; readonly processCpuCores: number };
  readonly deliveries: number;
  readonly expectedDeliveries: number;
  readonly latency: Summary;
  readonly deliverySpan_s: number;
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

export async function runRealtimeBench(options: RealtimeBenchOptions): Promise<RealtimeFigures> {
  const { app, log } = options;
  const subscribers = options.subscribers ?? 1000;
  const mode = options.mode ?? 'events';
  const instances = options.instances ?? 200;
  const startConcurrency = options.startConcurrency ?? 50;
  const maxSocketsPerKey = options.maxSocketsPerKey ?? loadConfig(process.env).MAX_SOCKETS_PER_API_KEY;
  const client = new BenchClient(app.url, options.apiKey);
  const began = performance.now();
  const keyIds: string[] = [];
  let workflowId: string | undefined;
  let channel: WorkerChannel | undefined;

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

    log(`realtime: opening ${subscribers} graphql-ws sockets in a worker thread (${keyCount} key(s), at most ${maxSocketsPerKey} sockets per key)`);
    const setup: RealtimeWorkerSetup = {
      wsUrl: app.url.replace(/^http/, 'ws'),
      apiKeys: secrets,
      workflowId: wf,
      subscribers,
      connectConcurrency: 50,
      mode,
    };
    channel = new WorkerChannel(new Worker(new URL('./realtime-clients.worker.js', import.meta.url), { workerData: setup }));
    const ready = await channel.next('ready', 180_000);
    log(`  ${ready.connected} connected, ${ready.refused} refused ${JSON.stringify(ready.closeCodes)} in ${round(ready.connectMs / 1000)} s`);
    if (ready.connected === 0) throw new Error('realtime: no socket connected');

    // One instance first, to know every subscription is live before the measured ones start.
    const probeId = await startInstance(client, wf);
    await waitForInstance(client, probeId, { intervalMs: 20, timeoutMs: 60_000 });
    const probeSeq = (await listInstances(client, wf)).find((i) => i.id === probeId);
    if (!probeSeq) throw new Error('realtime: probe instance not listed');
    channel.send({ type: 'probe', instance: { id: probeId, eventSeq: probeSeq.eventSeq }, timeoutMs: 60_000 });
    const probed = await channel.next('probed', 90_000);
    log(`  probe instance reached ${probed.reached} subscribers after ${round(probed.waitedMs)} ms`);

    log(`realtime: running ${instances} instances (trigger + 2 sms.send), ${startConcurrency} starts in flight`);
    const serverElu0 = performance.eventLoopUtilization();
    const clientsElu0 = channel.worker.performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const measuredIds = new Set(await startMany(client, wf, instances, startConcurrency));
    await waitForCounts(client, wf, { done: (c) => c.completed >= 2 * instances + 1, intervalMs: 50, timeoutMs: 10 * 60_000, what: 'realtime' });
    const runMs = since(t0);
    const measured = (await listInstances(client, wf)).filter((i) => measuredIds.has(i.id)).map((i) => ({ id: i.id, eventSeq: i.eventSeq }));
    if (measured.length !== instances || baselineIds.size !== instances) throw new Error('realtime: instances went missing');
    log(`  completed in ${round(runMs / 1000)} s; waiting for deliveries`);
    channel.send({ type: 'expect', instances: measured, settleMs: 10_000, timeoutMs: 5 * 60_000 });
    const result = await channel.next('result', 6 * 60_000);
    const serverElu = performance.eventLoopUtilization(serverElu0).utilization;
    const clientsElu = channel.worker.performance.eventLoopUtilization(clientsElu0).utilization;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const wallS = since(t0) / 1000;
    channel.send({ type: 'close' });
    const closed = await channel.next('closed', 60_000);

    const latency = summarize(result.latencies);
    const eventsPerInstance = round(measured.reduce((n, i) => n + i.eventSeq, 0) / Math.max(1, measured.length), 2);
    const eventsPerSecond = round(result.deliveries / Math.max(0.001, result.spanMs / 1000), 0);
    log(
      `  ${result.deliveries}/${result.expectedDeliveries} deliveries, p50 ${latency.p50_ms} ms, p99 ${latency.p99_ms} ms, ` +
        `${eventsPerSecond} events/s, lost ${result.lost}, duplicated ${result.duplicated} (${result.settledBy})`,
    );
    return {
      what: `commit (event \`at\`) to receipt by each graphql-ws subscriber of ${mode === 'events' ? 'workflowInstanceEvents' : 'workflowInstanceEventBatches'}, one socket per subscriber`,
      mode,
      subscribers,
      clientsInProcess: true,
      clientsIn: 'worker_thread',
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
        processCpuCores: round(cpuS / wallS, 2),
      },
      deliveries: result.deliveries,
      expectedDeliveries: result.expectedDeliveries,
      latency,
      deliverySpan_s: round(result.spanMs / 1000),
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
    if (channel) await channel.worker.terminate().catch(() => 0);
    for (const id of keyIds) await client.request(REVOKE_KEY, { id }).catch(() => undefined);
    if (workflowId) await deleteOutboundMessages(app, [workflowId]).catch((err: unknown) => log(`realtime: cleanup failed: ${String(err)}`));
  }
}
