import { Worker } from 'node:worker_threads';

/**
 * The attacks run in a worker thread, like the probe: a real attacker's client work happens on
 * another machine, and here it would otherwise run on the event loop of the server under test (the
 * test's own process), counting the attacker's CPU against the server's responsiveness.
 */
const ATTACK_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require('ws');
const { kind, params } = workerData;
const wsUrl = (url) => url.replace(/^http/, 'ws');

function initAndTerminate(url, authorization) {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl(url), 'graphql-transport-ws');
    socket.on('error', () => {});
    socket.once('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
      socket.terminate();
    });
    socket.once('close', () => resolve());
  });
}

function connectCode(url, authorization, headers) {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl(url), 'graphql-transport-ws', { headers });
    socket.on('error', () => {});
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.on('message', (m) => { if (JSON.parse(String(m)).type === 'connection_ack') socket.close(1000); });
    socket.once('close', (code) => resolve(code));
  });
}

async function ask(url, authorization, headers) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization, ...headers },
    body: '{"query":"{ workspace { id } }"}',
  });
  const body = await res.json();
  const error = body.errors && body.errors[0];
  return {
    status: res.status,
    retryAfterHeader: res.headers.get('retry-after'),
    code: error && error.extensions && error.extensions.code,
    retryAfter: error && error.extensions && error.extensions.retryAfter,
  };
}

async function inBursts(total, burst, one) {
  const results = [];
  for (let i = 0; i < total; i += burst) {
    const n = Math.min(burst, total - i);
    results.push(...(await Promise.all(Array.from({ length: n }, (_, j) => one(i + j)))));
  }
  return results;
}

async function main() {
  const { url, total, burst, headers = {} } = params;
  if (kind === 'ws-init-terminate') return inBursts(total, burst, () => initAndTerminate(url, params.authorization));
  if (kind === 'ws-unknown-keys') return inBursts(total, burst, (i) => connectCode(url, 'Bearer wfb_guess_ws_' + i, headers));
  if (kind === 'http-unknown-keys') return inBursts(total, burst, (i) => ask(url, 'Bearer wfb_guess_' + i, headers));
  throw new Error('unknown attack ' + kind);
}
main().then((result) => parentPort.postMessage({ result }), (err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
`;

/** What an unknown-key request over HTTP was answered with. */
export interface HttpAnswer {
  readonly status: number;
  readonly retryAfterHeader: string | null;
  readonly code: string | undefined;
  readonly retryAfter: unknown;
}

interface AttackParams {
  /** The server's GraphQL URL (http://…/graphql). */
  readonly url: string;
  /** How many connections or requests in all. */
  readonly total: number;
  /** How many at once: each burst is awaited before the next starts. */
  readonly burst: number;
  /** Headers of every request or upgrade (X-Forwarded-For, say). */
  readonly headers?: Record<string, string>;
}

function run<T>(kind: string, params: AttackParams & { readonly authorization?: string }): Promise<T> {
  const worker = new Worker(ATTACK_SOURCE, { eval: true, workerData: { kind, params } });
  return new Promise<T>((resolve, reject) => {
    worker.once('message', (m: { result?: T; error?: string }) => {
      void worker.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve(m.result as T);
    });
    worker.once('error', reject);
  });
}

/** Sockets that send `connection_init` with `authorization` and are cut at once, in bursts. */
export const initAndTerminateStorm = (params: AttackParams & { authorization: string }): Promise<void[]> =>
  run('ws-init-terminate', params);

/** Sockets with unknown keys: resolves with each one's close code. */
export const unknownKeySockets = (params: AttackParams): Promise<number[]> => run('ws-unknown-keys', params);

/** GraphQL requests with unknown keys: resolves with each one's answer. */
export const unknownKeyRequests = (params: AttackParams): Promise<HttpAnswer[]> => run('http-unknown-keys', params);
