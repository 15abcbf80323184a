import { Worker } from 'node:worker_threads';

/** What the probe saw while it ran. */
export interface ProbeReport {
  /** Probes answered after the first (the warm-up, before `ready`), which is not reported. */
  readonly answered: number;
  /** Longest time one `{ __typename }` took, from send to its whole answer, in ms. */
  readonly maxMs: number;
  readonly p99Ms: number;
  /** Probes that failed (network error or a non-200 answer), with why. */
  readonly failures: readonly string[];
}

export interface ResponsivenessProbe {
  /** Resolves once the first probe has been answered: the probe is measuring. */
  readonly ready: Promise<void>;
  /** Stops probing and reports; waits for the probe in flight (so a frozen server shows as one long probe). */
  stop(): Promise<ProbeReport>;
}

/**
 * The probe runs in a worker thread so that its clock and its sends are not held up by the test's
 * own event loop; a server frozen by an attack (in this process or another) shows up as one probe
 * that took as long as the freeze.
 */
const PROBE_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, apiKey, intervalMs } = workerData;
const latencies = [];
const failures = [];
let stopped = false;
let first = true;
const probe = () =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: 'Bearer ' + apiKey } : {}) },
    body: '{"query":"{ __typename }"}',
  });
async function loop() {
  // The worker's first fetch also loads and sets up its HTTP client, which takes tens of ms (more
  // on a busy machine): it is not timed, so that the probes measure the server, not the probe.
  try {
    await (await probe()).text();
  } catch {
    // the timed probes report it
  }
  while (!stopped) {
    const started = performance.now();
    try {
      const res = await probe();
      const text = await res.text();
      if (res.status !== 200 || !text.includes('__typename')) failures.push(res.status + ': ' + text.slice(0, 200));
    } catch (err) {
      failures.push(String(err && err.message || err));
    }
    // The first probe warms the worker up (its fetch, a new connection) and is sent before the
    // attack: it is not a measurement.
    if (first) { first = false; parentPort.postMessage({ type: 'ready' }); }
    else latencies.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] : 0;
  parentPort.postMessage({ type: 'report', report: { answered: latencies.length, maxMs: sorted.at(-1) ?? 0, p99Ms: p99, failures } });
}
parentPort.on('message', (m) => { if (m === 'stop') stopped = true; });
loop();
`;

/**
 * Sends `{ __typename }` to `url` every `intervalMs` (default 20) from a worker thread until
 * stopped. Use it around an attack: `const probe = startResponsivenessProbe(...); await probe.ready;
 * ...attack...; const report = await probe.stop(); expect(report.maxMs).toBeLessThan(100)`.
 */
export function startResponsivenessProbe(options: { url: string; apiKey?: string; intervalMs?: number }): ResponsivenessProbe {
  const worker = new Worker(PROBE_SOURCE, {
    eval: true,
    workerData: { url: options.url, apiKey: options.apiKey, intervalMs: options.intervalMs ?? 20 },
  });
  let markReady: () => void = () => {};
  let failReady: (err: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const report = new Promise<ProbeReport>((resolve, reject) => {
    worker.on('message', (m: { type: 'ready' } | { type: 'report'; report: ProbeReport }) => {
      if (m.type === 'ready') markReady();
      else resolve(m.report);
    });
    worker.once('error', (err) => {
      failReady(err);
      reject(err);
    });
  });
  return {
    ready,
    async stop() {
      worker.postMessage('stop');
      const result = await report;
      await worker.terminate();
      return result;
    },
  };
}

/**
 * What "the server stays responsive" means in the security tests (issue: a `{ __typename }` from
 * another client keeps answering within 100 ms while an attack runs). Build attack payloads before
 * the probe starts: the server runs in the test's process, and building them there is not the attack.
 */
export const RESPONSIVE_WITHIN_MS = 100;
