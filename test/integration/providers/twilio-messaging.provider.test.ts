import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { OutgoingMessage } from '../../../src/ports/messaging-provider.port.js';
import { TwilioMessagingProvider } from '../../../src/providers/twilio-messaging.provider.js';
import { InMemoryOutboundMessageStore } from '../../fixtures/in-memory-outbound-message.store.js';
import { sendJson, startLocalHttpServer, type LocalHttpServer } from '../../fixtures/local-http-server.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'secret-token';

let server: LocalHttpServer;
beforeAll(async () => {
  server = await startLocalHttpServer();
});
afterAll(async () => {
  await server?.close();
});

const message = (overrides: Partial<OutgoingMessage> = {}): OutgoingMessage => {
  const instanceId = randomUUID();
  return {
    channel: 'sms',
    to: '+15551230000',
    text: 'Hello & welcome',
    instanceId,
    stepId: 'send-sms',
    idempotencyKey: `${instanceId}:send-sms`,
    ...overrides,
  };
};

describe('TwilioMessagingProvider against a local fake of the Messages API', () => {
  let store: InMemoryOutboundMessageStore;
  let twilio: TwilioMessagingProvider;
  beforeEach(() => {
    server.received.length = 0;
    server.handle((_req, res) => sendJson(res, 201, { sid: 'SM0001', status: 'queued' }));
    store = new InMemoryOutboundMessageStore();
    twilio = new TwilioMessagingProvider({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      smsFrom: '+15550009999',
      whatsappFrom: '+15550008888',
      baseUrl: `${server.origin}/`,
      store,
      timeoutMs: 1_000,
    });
  });

  test('sends an SMS: path, Basic auth, form fields and idempotency header', async () => {
    const m = message();
    const sent = await twilio.sendMessage(m);
    expect(sent.providerMessageId).toBe('SM0001');

    expect(server.received).toHaveLength(1);
    const [req] = server.received;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(req!.headers.authorization).toBe(`Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`);
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req!.headers['i-twilio-idempotency-token']).toBe(m.idempotencyKey);
    expect(Object.fromEntries(new URLSearchParams(req!.body))).toEqual({
      To: '+15551230000',
      From: '+15550009999',
      Body: 'Hello & welcome',
    });
    expect(store.all()).toMatchObject([
      { provider: 'twilio', channel: 'sms', status: 'sent', providerMessageId: 'SM0001', recipient: '+15551230000' },
    ]);
  });

  test('sends WhatsApp with whatsapp: prefixes on To and From', async () => {
    await twilio.sendMessage(message({ channel: 'whatsapp', to: '+447700900123' }));
    const form = new URLSearchParams(server.received[0]!.body);
    expect(form.get('To')).toBe('whatsapp:+447700900123');
    expect(form.get('From')).toBe('whatsapp:+15550008888');
  });

  test('a re-run of the step sends nothing and answers the first SID', async () => {
    const m = message();
    await twilio.sendMessage(m);
    server.handle((_req, res) => sendJson(res, 201, { sid: 'SM0002' }));
    expect(await twilio.sendMessage(m)).toEqual({ providerMessageId: 'SM0001' });
    expect(server.received).toHaveLength(1);
  });

  test('400 is permanent: RECIPIENT_INVALID for error 21211, nothing recorded', async () => {
    server.handle((_req, res) =>
      sendJson(res, 400, { code: 21211, message: "The 'To' number +1555 is not a valid phone number.", status: 400 }),
    );
    const failure = twilio.sendMessage(message({ to: '+1555' }));
    await expect(failure).rejects.toMatchObject({ retryable: false, code: 'RECIPIENT_INVALID', status: 400 });
    await expect(failure).rejects.toThrow(/21211.*not a valid phone number/);
    expect(store.all()).toHaveLength(0);
  });

  test('401 is permanent: AUTH_FAILED', async () => {
    server.handle((_req, res) => sendJson(res, 401, { code: 20003, message: 'Authenticate' }));
    await expect(twilio.sendMessage(message())).rejects.toMatchObject({ retryable: false, code: 'AUTH_FAILED' });
  });

  test('503 and 429 are retryable, and the retry sends', async () => {
    const m = message();
    server.handle((_req, res) => sendJson(res, 503, { message: 'Service unavailable' }));
    await expect(twilio.sendMessage(m)).rejects.toMatchObject({ retryable: true, code: 'PROVIDER_UNAVAILABLE', status: 503 });
    server.handle((_req, res) => sendJson(res, 429, { code: 20429, message: 'Too Many Requests' }));
    await expect(twilio.sendMessage(m)).rejects.toMatchObject({ retryable: true, code: 'RATE_LIMITED' });
    server.handle((_req, res) => sendJson(res, 201, { sid: 'SM0003' }));
    expect(await twilio.sendMessage(m)).toEqual({ providerMessageId: 'SM0003' });
    expect(server.received).toHaveLength(3);
  });

  test('no answer within the timeout: uncertain, and never sent again', async () => {
    const m = message();
    server.handle(() => {
      // Accept the request and never answer.
    });
    await expect(twilio.sendMessage(m)).rejects.toMatchObject({ retryable: false, code: 'DELIVERY_UNCERTAIN' });
    expect(store.all()).toMatchObject([{ status: 'uncertain' }]);
    server.handle((_req, res) => sendJson(res, 201, { sid: 'SM0004' }));
    await expect(twilio.sendMessage(m)).rejects.toMatchObject({ code: 'DELIVERY_UNCERTAIN' });
    expect(server.received).toHaveLength(1);
  });

  test('a refused connection is retryable and leaves the key free', async () => {
    const closed = await startLocalHttpServer();
    const baseUrl = closed.origin;
    await closed.close();
    const offline = new TwilioMessagingProvider({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, smsFrom: '+1555', baseUrl, store });
    await expect(offline.sendMessage(message())).rejects.toMatchObject({ retryable: true, code: 'NETWORK_ERROR' });
    expect(store.all()).toHaveLength(0);
  });
});
