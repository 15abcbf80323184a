import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { twilioParams } from '../fixtures/inbound/inbound-fixtures.js';
import { isolatedDatabase } from '../integration/webhooks/isolated-database.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import {
  instanceTotal,
  messageWorkflow,
  postTwilio,
  providerEnv,
  twilioSignature,
  twilioUrl,
} from './support/inbound-clients.js';
import { RESPONSIVE_WITHIN_MS, startResponsivenessProbe } from './support/responsiveness-probe.js';

let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let server: TestServer;
let client: GraphQLClient;
let origin: string;

beforeAll(async () => {
  database = await isolatedDatabase();
  server = await startTestServer({ env: { ...database.env, ...providerEnv } });
  client = server.client;
  origin = new URL(server.url).origin;
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

async function expectRefused(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(JSON.parse(text)).toEqual({ error: { code, message: expect.any(String) } });
}

describe('Twilio inbound under attack', () => {
  test(
    'a form of tens of thousands of distinct names and a wrong signature is refused without freezing the server',
    { timeout: 120_000 },
    async () => {
      // The attack of the report: 50,000 distinct names (about 250 KB) froze the server 19 s.
      const names = (n: number) => Array.from({ length: n }, (_, i) => `p${i.toString(36)}=v`).join('&');
      const manyNames = names(50_000);
      // Within the body limit (1 MiB) and as many names as fit.
      const fullBody = names(150_000).slice(0, 1024 * 1024 - 16);
      // Few names but a body of nearly the limit: parsing and signing it is linear work.
      const bigValues = `Body=${'x'.repeat(1024 * 1024 - 200)}&From=%2B15550001111&MessageSid=SM1`;
      // Node's own form parsers turn each `+` into a space one character at a time: over 100 ms here.
      const pluses = `Body=${'x+'.repeat(512 * 1024 - 8)}`;

      const probe = startResponsivenessProbe({ url: server.url, apiKey: server.apiKey });
      await probe.ready;
      for (const body of [manyNames, fullBody]) {
        await expectRefused(await postTwilio(origin, body, 'bm90IHRoZSBzaWduYXR1cmU='), 413, 'PAYLOAD_TOO_LARGE');
      }
      for (const body of [bigValues, pluses]) {
        await expectRefused(await postTwilio(origin, body, 'bm90IHRoZSBzaWduYXR1cmU='), 401, 'INVALID_SIGNATURE');
      }
      const report = await probe.stop();
      expect(report.failures).toEqual([]);
      expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
    },
  );

  test('a captured delivery with a shifted parameter boundary is refused as a replay and starts nothing', async () => {
    const workflowId = await messageWorkflow(client, 'SMS replay target', { channel: 'sms' });
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const params = twilioParams('twilio-sms', { sid });
    const url = twilioUrl(server.app.port);
    const signature = twilioSignature(url, params);

    const first = await postTwilio(origin, params.toString(), signature);
    expect(first.status).toBe(200);
    expect(await instanceTotal(client, workflowId)).toBe(1);

    // MessageSid swallows the parameter that sorts after it (MessageSid=SM…&MessagingServiceSid=MG…
    // becomes MessageSid=SM…MessagingServiceSidMG…): the signed string, and so the signature, is the
    // same, but the message id is new.
    const sorted = [...params.keys()].sort();
    const next = sorted[sorted.indexOf('MessageSid') + 1]!;
    const shifted = new URLSearchParams(params);
    shifted.set('MessageSid', `${sid}${next}${params.get(next)}`);
    shifted.delete(next);
    expect(twilioSignature(url, shifted)).toBe(signature);

    await expectRefused(await postTwilio(origin, shifted.toString(), signature), 409, 'REPLAYED_DELIVERY');
    expect(await instanceTotal(client, workflowId)).toBe(1);

    // Twilio's own retry of the delivery (the same parameters) is still answered 200 and starts nothing.
    const retry = await postTwilio(origin, params.toString(), signature);
    expect(retry.status).toBe(200);
    expect(await instanceTotal(client, workflowId)).toBe(1);
  });
});
