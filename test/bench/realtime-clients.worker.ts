/**
 * Some of the realtime benchmark's subscribers, run in a worker thread so that decoding millions
 * of events does not share the server's event loop (it still shares the process and its CPUs);
 * the benchmark starts several such threads and combines what they report.
 *
 * Each subscriber is its own graphql-ws client on its own socket, subscribed to
 * `workflowInstanceEvents` (or the batches) of one workflow. It records, per instance, which event seqs arrived how
 * often and how long after their commit; the main thread says which instances count.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { threadCpuSeconds } from './cpu-time.js';

/** What the worker is started with. */
export interface RealtimeWorkerSetup {
  readonly wsUrl: string;
  /** One key per group of sockets; subscriber `i` uses `apiKeys[i % apiKeys.length]`. */
  readonly apiKeys: readonly string[];
  readonly workflowId: string;
  readonly subscribers: number;
  /** Sockets opening at once. */
  readonly connectConcurrency: number;
  /** `events`: workflowInstanceEvents, a message per event; `batches`: workflowInstanceEventBatches. */
  readonly mode: RealtimeMode;
}

export type RealtimeMode = 'events' | 'batches';

export interface ExpectedInstance {
  readonly id: string;
  readonly eventSeq: number;
}

export type ToWorker =
  /** Answer `probed` once every subscriber has every event of this (finished) instance. */
  | { readonly type: 'probe'; readonly instance: ExpectedInstance; readonly timeoutMs: number }
  /** Answer `result` once every subscriber has every event of these, or nothing arrived for `settleMs`. */
  | { readonly type: 'expect'; readonly instances: readonly ExpectedInstance[]; readonly settleMs: number; readonly timeoutMs: number }
  /** Answer `cpu` with this thread's CPU seconds so far. */
  | { readonly type: 'cpu' }
  | { readonly type: 'close' };

export interface WorkerResult {
  readonly type: 'result';
  readonly deliveries: number;
  readonly expectedDeliveries: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Events with a seq above the instance's final one (should be none). */
  readonly unexpected: number;
  /** Delivery latencies (receipt − event `at`), ms, of every delivery of the expected instances. */
  readonly latencies: Float64Array;
  /** From the first to the last receipt of an expected instance's event. */
  readonly spanMs: number;
  /** The same first and last receipt, as epoch ms (to combine workers). */
  readonly firstAt: number;
  readonly lastAt: number;
  /** Messages the subscribers received after the probe (each carries one event, or one batch). */
  readonly messages: number;
  /** Subscribers that got every event of every expected instance exactly once. */
  readonly completeSubscribers: number;
  readonly settledBy: 'complete' | 'idle' | 'timeout';
  readonly waitedMs: number;
}

export type FromWorker =
  | {
      readonly type: 'ready';
      readonly connected: number;
      readonly refused: number;
      readonly closeCodes: Record<string, number>;
      readonly connectMs: number;
    }
  | { readonly type: 'probed'; readonly reached: number; readonly waitedMs: number }
  | { readonly type: 'cpu'; readonly seconds: number | undefined }
  | WorkerResult
  | { readonly type: 'closed'; readonly subscriptionErrors: number; readonly errorSamples: readonly string[]; readonly droppedSockets: number }
  | { readonly type: 'failed'; readonly message: string };

const SELECTION = 'cursor event { instanceId seq entity stepId event toStatus at }';
const SUBSCRIPTIONS: Record<RealtimeMode, string> = {
  events: `subscription ($workflowId: ID!) { workflowInstanceEvents(workflowId: $workflowId) { ${SELECTION} } }`,
  batches: `subscription ($workflowId: ID!) { workflowInstanceEventBatches(workflowId: $workflowId) { cursor events { ${SELECTION} } } }`,
};

interface ReceivedEvent {
  readonly event: { readonly instanceId: string; readonly seq: number; readonly at: string };
}

interface EventData {
  readonly workflowInstanceEvents?: ReceivedEvent;
  readonly workflowInstanceEventBatches?: { readonly events: readonly ReceivedEvent[] };
}

/**
 * Per instance, across subscribers: latencies, first/last receipt and how many (subscriber, seq)
 * pairs arrived. The harness's own bookkeeping runs on the same CPUs as the server, so an event
 * costs it one map lookup (by instance id); the rest is indexed.
 */
interface InstanceTally {
  /** Position of this instance in every subscriber's `seen`. */
  readonly index: number;
  /** Commit time (ms) of each seq, parsed from `at` once for all subscribers; 0 = not yet. */
  readonly commitAt: Float64Array;
  latencies: number[];
  first: number;
  last: number;
  unique: number;
  deliveries: number;
}

interface Subscriber {
  readonly client: Client;
  /** Per instance (by its tally's index): how often each seq arrived (index = seq). */
  readonly seen: (Uint8Array | undefined)[];
  connected: boolean;
}

const MAX_SEQ = 255;

const setup = workerData as RealtimeWorkerSetup;
if (!parentPort) throw new Error('realtime-clients.worker must run as a worker thread');
const port = parentPort;

const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

const subscribers: Subscriber[] = [];
const tallies = new Map<string, InstanceTally>();
const closeCodes: Record<string, number> = {};
let lastReceipt = performance.now();
let messages = 0;
let subscriptionErrors = 0;
let droppedSockets = 0;
const errorSamples: string[] = [];

function noteError(message: string): void {
  subscriptionErrors += 1;
  if (errorSamples.length < 5) errorSamples.push(message);
}

function receive(sub: Subscriber, data: EventData): void {
  const receipt = Date.now();
  const now = performance.now();
  lastReceipt = now;
  messages += 1;
  if (data.workflowInstanceEvents) receiveEvent(sub, data.workflowInstanceEvents, receipt, now);
  for (const item of data.workflowInstanceEventBatches?.events ?? []) receiveEvent(sub, item, receipt, now);
}

function receiveEvent(sub: Subscriber, item: ReceivedEvent, receipt: number, now: number): void {
  const { instanceId, seq, at } = item.event;
  let tally = tallies.get(instanceId);
  if (!tally) {
    tally = { index: tallies.size, commitAt: new Float64Array(MAX_SEQ + 1), latencies: [], first: now, last: now, unique: 0, deliveries: 0 };
    tallies.set(instanceId, tally);
  }
  const index = Math.min(seq, MAX_SEQ);
  let counts = sub.seen[tally.index];
  if (!counts) sub.seen[tally.index] = counts = new Uint8Array(16);
  if (index >= counts.length) {
    const grown = new Uint8Array(Math.min(MAX_SEQ + 1, Math.max(index + 1, counts.length * 2)));
    grown.set(counts);
    sub.seen[tally.index] = counts = grown;
  }
  const commitAt = tally.commitAt[index] || (tally.commitAt[index] = Date.parse(at));
  tally.latencies.push(receipt - commitAt);
  tally.last = now;
  tally.deliveries += 1;
  const before = counts[index]!;
  if (before === 0) tally.unique += 1;
  if (before < 255) counts[index] = before + 1;
}

/** How often each seq of an instance reached `sub` (undefined: none did). */
function seenBy(sub: Subscriber, instanceId: string): Uint8Array | undefined {
  const tally = tallies.get(instanceId);
  return tally ? sub.seen[tally.index] : undefined;
}

function connectOne(i: number): Promise<void> {
  return new Promise((resolve) => {
    let settled = false;
    const done = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    const client = createClient({
      url: setup.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${setup.apiKeys[i % setup.apiKeys.length]}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      on: {
        connected: () => {
          sub.connected = true;
          done();
        },
        closed: (event) => {
          const code = String((event as { code?: number }).code ?? 'unknown');
          closeCodes[code] = (closeCodes[code] ?? 0) + 1;
          if (sub.connected) droppedSockets += 1;
          sub.connected = false;
          done();
        },
      },
    });
    const sub: Subscriber = { client, seen: [], connected: false };
    subscribers.push(sub);
    client.subscribe<EventData>(
      { query: SUBSCRIPTIONS[setup.mode], variables: { workflowId: setup.workflowId } },
      {
        next: (value) => {
          if (value.errors?.length) noteError(value.errors.map((e) => e.message).join('; '));
          else if (value.data) receive(sub, value.data as EventData);
        },
        error: (err) => noteError(err instanceof Error ? err.message : JSON.stringify(err)),
        complete: () => {},
      },
    );
  });
}

async function connectAll(): Promise<void> {
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < setup.subscribers) await connectOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(setup.connectConcurrency, setup.subscribers) }, lane));
  const connected = subscribers.filter((s) => s.connected).length;
  post({
    type: 'ready',
    connected,
    refused: setup.subscribers - connected,
    closeCodes: { ...closeCodes },
    connectMs: performance.now() - started,
  });
}

/** Whether `sub` has every seq 1..eventSeq of the instance exactly once. */
function complete(sub: Subscriber, instance: ExpectedInstance): boolean {
  const counts = seenBy(sub, instance.id);
  if (!counts) return false;
  for (let seq = 1; seq <= instance.eventSeq; seq++) if (counts[seq] !== 1) return false;
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function probe(instance: ExpectedInstance, timeoutMs: number): Promise<void> {
  const started = performance.now();
  const live = subscribers.filter((s) => s.connected);
  for (;;) {
    const reached = live.filter((s) => complete(s, instance)).length;
    if (reached === live.length || performance.now() - started > timeoutMs) {
      post({ type: 'probed', reached, waitedMs: performance.now() - started });
      messages = 0;
      return;
    }
    await sleep(50);
  }
}

async function expect(instances: readonly ExpectedInstance[], settleMs: number, timeoutMs: number): Promise<void> {
  const started = performance.now();
  const live = subscribers.filter((s) => s.connected).length;
  const perSubscriber = instances.reduce((n, i) => n + i.eventSeq, 0);
  const wanted = perSubscriber * live;
  const uniqueNow = () => instances.reduce((n, i) => n + (tallies.get(i.id)?.unique ?? 0), 0);
  let settledBy: WorkerResult['settledBy'];
  for (;;) {
    if (uniqueNow() >= wanted) {
      settledBy = 'complete';
      // Duplicates would come right behind; give them a moment to show.
      await sleep(Math.min(settleMs, 500));
      break;
    }
    if (performance.now() - lastReceipt > settleMs) {
      settledBy = 'idle';
      break;
    }
    if (performance.now() - started > timeoutMs) {
      settledBy = 'timeout';
      break;
    }
    await sleep(50);
  }

  let lost = 0;
  let duplicated = 0;
  let unexpected = 0;
  let completeSubscribers = 0;
  for (const sub of subscribers) {
    let whole = true;
    for (const instance of instances) {
      const counts = seenBy(sub, instance.id);
      for (let seq = 1; seq <= instance.eventSeq; seq++) {
        const n = counts?.[seq] ?? 0;
        if (n === 0) lost += 1;
        else if (n > 1) duplicated += n - 1;
        if (n !== 1) whole = false;
      }
      if (counts) for (let seq = instance.eventSeq + 1; seq < counts.length; seq++) unexpected += counts[seq]!;
    }
    if (whole) completeSubscribers += 1;
  }

  let deliveries = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const instance of instances) {
    const tally = tallies.get(instance.id);
    if (!tally) continue;
    deliveries += tally.deliveries;
    first = Math.min(first, tally.first);
    last = Math.max(last, tally.last);
  }
  const latencies = new Float64Array(deliveries);
  let offset = 0;
  for (const instance of instances) {
    const tally = tallies.get(instance.id);
    if (!tally) continue;
    latencies.set(tally.latencies, offset);
    offset += tally.latencies.length;
  }
  post(
    {
      type: 'result',
      deliveries,
      expectedDeliveries: perSubscriber * setup.subscribers,
      lost,
      duplicated,
      unexpected,
      latencies,
      spanMs: deliveries > 0 ? last - first : 0,
      firstAt: deliveries > 0 ? performance.timeOrigin + first : 0,
      lastAt: deliveries > 0 ? performance.timeOrigin + last : 0,
      messages,
      completeSubscribers,
      settledBy,
      waitedMs: performance.now() - started,
    },
    [latencies.buffer],
  );
}

async function closeAll(): Promise<void> {
  await Promise.all(subscribers.map((s) => s.client.dispose()));
  post({ type: 'closed', subscriptionErrors, errorSamples, droppedSockets });
  port.close();
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'cpu') return post({ type: 'cpu', seconds: threadCpuSeconds() });
  const work =
    message.type === 'probe'
      ? probe(message.instance, message.timeoutMs)
      : message.type === 'expect'
        ? expect(message.instances, message.settleMs, message.timeoutMs)
        : closeAll();
  work.catch((err: unknown) => post({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});

connectAll().catch((err: unknown) => post({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
