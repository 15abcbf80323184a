import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isolatedDatabase } from '../integration/webhooks/isolated-database.js';
import { InstancesDocument } from '../../src/sdk/operations.generated.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import {
  deliveryProcessed,
  instanceTotal,
  messageWorkflow,
  metaInstagramDelivery,
  postMeta,
  providerEnv,
} from './support/inbound-clients.js';
import { RESPONSIVE_WITHIN_MS, startResponsivenessProbe } from './support/responsiveness-probe.js';

/** Providers give up on an answer long before this; Meta redelivers what it did not see acknowledged. */
const ACKNOWLEDGED_WITHIN_MS = 1_000;

let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let server: TestServer;
let client: GraphQLClient;
let origin: string;

beforeAll(async () => {
  database = await isolatedDatabase();
  // The production shape: the process taking deliveries serves the API and runs no steps, so what
  // the probe sees is the intake and the processing of deliveries, not the engine running the
  // instances started.
  server = await startTestServer({ env: { ...database.env, ...providerEnv, ROLE: 'api' } });
  client = server.client;
  origin = new URL(server.url).origin;
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

const mid = () => `mid.${randomBytes(12).toString('hex')}`;

async function timedPost(body: string) {
  const started = performance.now();
  const res = await postMeta(origin, body);
  const answer = (await res.json()) as Record<string, unknown>;
  return { status: res.status, answer, ms: performance.now() - started };
}

describe('Meta inbound under load', () => {
  test(
    'a delivery of 1,000 entries is acknowledged within 1 s, then every message starts its workflows once, the server staying responsive',
    { timeout: 300_000 },
    async () => {
      const here = await messageWorkflow(client, 'IG bulk', { channel: 'instagram', keyword: 'bulk' });
      const other = await server.newWorkspace('another tenant');
      const there = await messageWorkflow(other.client, 'Their IG bulk', { channel: 'instagram', keyword: 'BULK' });
      const body = metaInstagramDelivery(Array.from({ length: 1_000 }, (_, i) => ({ mid: mid(), text: `bulk order ${i}` })));

      const probe = startResponsivenessProbe({ url: server.url, apiKey: server.apiKey });
      await probe.ready;
      const { status, answer, ms } = await timedPost(body);
      expect(status, JSON.stringify(answer)).toBe(200);
      expect(ms).toBeLessThan(ACKNOWLEDGED_WITHIN_MS);
      expect(answer).toEqual({ deliveryId: expect.any(String), duplicate: false, messages: 1_000, ignored: 0 });

      // Processed afterwards, from the stored delivery: 2,000 instances, none twice.
      await deliveryProcessed(server.app, answer.deliveryId as string, 240_000);
      const report = await probe.stop();
      expect(report.failures).toEqual([]);
      expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
      expect(await instanceTotal(client, here)).toBe(1_000);
      expect(await instanceTotal(other.client, there)).toBe(1_000);

      // Meta redelivers the same body: the same delivery, nothing new.
      const again = await timedPost(body);
      expect(again.answer).toEqual({ ...answer, duplicate: true });
      expect(await instanceTotal(client, here)).toBe(1_000);
      expect(await instanceTotal(other.client, there)).toBe(1_000);
    },
  );

  test('a delivery as large as the body limit is acknowledged within 1 s and its matching messages start afterwards', { timeout: 120_000 }, async () => {
    const workflowId = await messageWorkflow(client, 'IG needle', { channel: 'instagram', keyword: 'needle' });
    // Every entry has the same length (fixed-width ids and texts), so the size is linear in the count.
    const text = (i: number) => (i % 500 === 0 ? 'a needle' : `hay ${String(i).padStart(4, '0')}`);
    const sizeOf = (n: number) =>
      Buffer.byteLength(metaInstagramDelivery(Array.from({ length: n }, (_, i) => ({ mid: mid(), text: text(i) }))));
    const perEntry = sizeOf(2) - sizeOf(1);
    const count = Math.floor((server.config.WEBHOOK_MAX_BODY_BYTES - (sizeOf(1) - perEntry)) / perEntry);
    const messages = Array.from({ length: count }, (_, i) => ({ mid: mid(), text: text(i) }));
    const body = metaInstagramDelivery(messages);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(server.config.WEBHOOK_MAX_BODY_BYTES);
    expect(Buffer.byteLength(body)).toBeGreaterThan(server.config.WEBHOOK_MAX_BODY_BYTES - perEntry);
    const needles = messages.filter((m) => m.text === 'a needle').length;

    const probe = startResponsivenessProbe({ url: server.url, apiKey: server.apiKey });
    await probe.ready;
    const { status, answer, ms } = await timedPost(body);
    expect(status, JSON.stringify(answer)).toBe(200);
    expect(ms).toBeLessThan(ACKNOWLEDGED_WITHIN_MS);
    expect(answer).toMatchObject({ duplicate: false, messages: messages.length, ignored: 0 });
    await deliveryProcessed(server.app, answer.deliveryId as string, 90_000);
    const report = await probe.stop();
    expect(report.failures).toEqual([]);
    expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
    expect(await instanceTotal(client, workflowId)).toBe(needles);
    // The answer names no instances: each message's id finds the one it started, and only that.
    const byMessageId = async (id: string) =>
      (await client.request(InstancesDocument, { workflowId, triggerInput: { path: 'message.id', equals: id }, first: 10 })).workflowInstances;
    for (const needle of messages.filter((m) => m.text === 'a needle')) expect((await byMessageId(needle.mid)).totalCount).toBe(1);
    expect((await byMessageId(messages.find((m) => m.text !== 'a needle')!.mid)).totalCount).toBe(0);
  });
});
