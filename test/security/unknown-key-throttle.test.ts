import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CreateApiKeyDocument } from '../../src/sdk/operations.generated.js';
import { openRawSocket } from '../support/raw-ws.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { RESPONSIVE_WITHIN_MS } from './support/responsiveness-probe.js';
import { unknownKeyRequests, unknownKeySockets, type HttpAnswer } from './support/attack-worker.js';
import { underProbe } from './support/under-probe.js';

const LIMIT = 5;
const ATTACK = 300;
const PARALLEL = 10;

type Answer = HttpAnswer;

async function ask(server: TestServer, key: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
    body: '{"query":"{ workspace { id } }"}',
  });
  const body = (await res.json()) as { errors?: { extensions?: { code?: string; retryAfter?: unknown } }[] };
  const error = body.errors?.[0];
  return { status: res.status, retryAfterHeader: res.headers.get('retry-after'), code: error?.extensions?.code, retryAfter: error?.extensions?.retryAfter };
}

function expectRateLimited(answer: Answer): void {
  expect(answer.status).toBe(429);
  expect(answer.code).toBe('RATE_LIMITED');
  expect(answer.retryAfter).toEqual(expect.any(Number));
  expect(answer.retryAfter as number).toBeGreaterThan(0);
  expect(answer.retryAfterHeader).toBe(String(answer.retryAfter));
}

describe('behind a trusted proxy (TRUST_PROXY=loopback): failed key attempts are throttled per client address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_MS: '600000', TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('over HTTP: past the limit an address gets 429 RATE_LIMITED with retryAfter; other addresses and known keys are not slowed', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.7' };
    const { result: answers, report } = await underProbe(server, () =>
      unknownKeyRequests({ url: server.url, total: ATTACK, burst: PARALLEL, headers: attacker }),
    );

    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401).length).toBe(LIMIT);
    expect(statuses.filter((s) => s === 429).length).toBe(ATTACK - LIMIT);
    for (const a of answers.filter((x) => x.status === 401)) expect(a.code).toBe('UNAUTHENTICATED');
    for (const a of answers.filter((x) => x.status === 429)) expectRateLimited(a);

    // A new key, from another address, is not slowed by the attacker's failures.
    const { createApiKey } = await server.client.request(CreateApiKeyDocument, { name: 'innocent integrator' });
    expect((await ask(server, createApiKey.secret, { 'x-forwarded-for': '198.51.100.9' })).status).toBe(200);
    // Nor is a key this server has seen work, even from the throttled address itself.
    expect((await ask(server, server.apiKey, attacker)).status).toBe(200);
    // The address is still throttled for unknown keys.
    expectRateLimited(await ask(server, 'wfb_one_more', attacker));
    expect(report.failures).toEqual([]);
    expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
  });

  test('over WebSocket: past the limit an address is closed with 4430 at connection_init', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.8' };
    const { result: closes, report } = await underProbe(server, () =>
      unknownKeySockets({ url: server.url, total: LIMIT + 20, burst: PARALLEL, headers: attacker }),
    );
    expect(closes.filter((c) => c === 4403).length).toBe(LIMIT);
    expect(closes.filter((c) => c === 4430).length).toBe(20);
    // Another address, with a valid key, is accepted.
    const valid = openRawSocket(server.url, { authorization: `Bearer ${server.apiKey}`, headers: { 'x-forwarded-for': '198.51.100.10' } });
    expect(await valid.acked).toBe(true);
    valid.socket.close();
    // And HTTP from the same address is throttled too: one limiter for both transports.
    expectRateLimited(await ask(server, 'wfb_http_after_ws', attacker));
    expect(report.failures).toEqual([]);
    expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
  });
});

describe('with no proxy trusted (the default): X-Forwarded-For is ignored', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_MS: '600000' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('an attacker cannot escape the limit by claiming a new address on each request, and known keys from its address still work', async () => {
    const { result: answers, report } = await underProbe(server, async () => {
      const all: Answer[] = [];
      for (let i = 0; i < 60; i++) all.push(await ask(server, `wfb_spoof_${i}`, { 'x-forwarded-for': `203.0.113.${i}` }));
      return all;
    });
    expect(answers.filter((a) => a.status === 401).length).toBe(LIMIT);
    for (const a of answers.slice(LIMIT)) expectRateLimited(a);
    // The probe's key shared the attacker's address (127.0.0.1) and kept answering (report.failures).
    expect((await ask(server, server.apiKey)).status).toBe(200);
    expect(report.failures).toEqual([]);
    expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
  });
});
