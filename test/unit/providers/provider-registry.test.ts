import { randomUUID } from 'node:crypto';
import { describe, expect, test, vi } from 'vitest';
import type { MessagingChannel, OutgoingMessage } from '../../../src/ports/messaging-provider.port.js';
import { createMessagingProviders, messagingRoutes } from '../../../src/providers/provider-registry.js';
import { InMemoryOutboundMessageStore } from '../../fixtures/in-memory-outbound-message.store.js';

const message = (channel: MessagingChannel): OutgoingMessage => {
  const instanceId = randomUUID();
  return { channel, to: channel === 'instagram' ? 'igsid-1' : '+15550004444', text: 'hi', instanceId, stepId: 's', idempotencyKey: `${instanceId}:s` };
};

/** A fetch that answers like both vendors and records the URLs it was called with. */
const vendorFetch = () =>
  vi.fn(async (input: string | URL | Request) => {
    const url = String(input);
    const body = url.includes('twilio') ? { sid: 'SM1' } : { recipient_id: 'igsid-1', message_id: 'mid.1' };
    return new Response(JSON.stringify(body), { status: url.includes('twilio') ? 201 : 200 });
  });

const twilio = { accountSid: 'AC1', authToken: 't', smsFrom: '+15550000000', whatsappFrom: '+15550000001', baseUrl: 'https://twilio.test' };
const meta = { pageAccessToken: 'tok', baseUrl: 'https://meta.test' };

describe('createMessagingProviders', () => {
  test('without credentials every channel goes to the sandbox', async () => {
    const store = new InMemoryOutboundMessageStore();
    const fetch = vendorFetch();
    const providers = createMessagingProviders({ store, fetch });
    for (const channel of ['sms', 'whatsapp', 'instagram'] as const) {
      const sent = await providers(channel).sendMessage(message(channel));
      expect(sent.providerMessageId).toMatch(/^sandbox-/);
    }
    expect(fetch).not.toHaveBeenCalled();
    expect(store.all().map((r) => r.provider)).toEqual(['sandbox', 'sandbox', 'sandbox']);
    expect(messagingRoutes({})).toEqual({ sms: 'sandbox', whatsapp: 'sandbox', instagram: 'sandbox' });
  });

  test('Twilio carries SMS and WhatsApp, Meta carries Instagram, when configured', async () => {
    const store = new InMemoryOutboundMessageStore();
    const fetch = vendorFetch();
    const providers = createMessagingProviders({ store, fetch, twilio, meta });
    expect((await providers('sms').sendMessage(message('sms'))).providerMessageId).toBe('SM1');
    expect((await providers('whatsapp').sendMessage(message('whatsapp'))).providerMessageId).toBe('SM1');
    expect((await providers('instagram').sendMessage(message('instagram'))).providerMessageId).toBe('mid.1');
    expect(fetch.mock.calls.map(([url]) => new URL(String(url)).host)).toEqual(['twilio.test', 'twilio.test', 'meta.test']);
    expect(store.all().map((r) => [r.channel, r.provider, r.status])).toEqual(
      expect.arrayContaining([
        ['sms', 'twilio', 'sent'],
        ['whatsapp', 'twilio', 'sent'],
        ['instagram', 'meta', 'sent'],
      ]),
    );
    expect(messagingRoutes({ twilio, meta })).toEqual({ sms: 'twilio', whatsapp: 'twilio', instagram: 'meta' });
  });

  test('each vendor is independent', () => {
    expect(messagingRoutes({ meta })).toEqual({ sms: 'sandbox', whatsapp: 'sandbox', instagram: 'meta' });
    expect(messagingRoutes({ twilio })).toEqual({ sms: 'twilio', whatsapp: 'twilio', instagram: 'sandbox' });
  });

  test('only the Instagram provider can like', () => {
    for (const options of [{}, { twilio, meta }]) {
      const providers = createMessagingProviders({ store: new InMemoryOutboundMessageStore(), ...options });
      expect(providers('instagram').likeMessage).toBeTypeOf('function');
      expect(providers('sms').likeMessage).toBeUndefined();
      expect(providers('whatsapp').likeMessage).toBeUndefined();
    }
  });

  test('a Twilio account without a sender for the channel fails permanently, before recording anything', async () => {
    const store = new InMemoryOutboundMessageStore();
    const providers = createMessagingProviders({ store, fetch: vendorFetch(), twilio: { ...twilio, whatsappFrom: undefined } });
    await expect(providers('whatsapp').sendMessage(message('whatsapp'))).rejects.toMatchObject({
      code: 'NOT_CONFIGURED',
      retryable: false,
    });
    expect(store.all()).toHaveLength(0);
  });

  test('refuses a claim timeout that does not outlast the vendor timeout', () => {
    expect(() => createMessagingProviders({ store: new InMemoryOutboundMessageStore(), timeoutMs: 5_000, claimTimeoutMs: 5_000 })).toThrow(
      /claimTimeoutMs/,
    );
  });
});

describe('vendor network failures', () => {
  const fetchFailing = (code: string) =>
    vi.fn(async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
    });

  test('a connection that never opened: retryable, claim released', async () => {
    const store = new InMemoryOutboundMessageStore();
    const providers = createMessagingProviders({ store, fetch: fetchFailing('ECONNREFUSED'), twilio });
    await expect(providers('sms').sendMessage(message('sms'))).rejects.toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
    expect(store.all()).toHaveLength(0);
  });

  test('a connection lost mid-request: uncertain, recorded, not retried', async () => {
    const store = new InMemoryOutboundMessageStore();
    const providers = createMessagingProviders({ store, fetch: fetchFailing('UND_ERR_SOCKET'), meta });
    const m = message('instagram');
    await expect(providers('instagram').sendMessage(m)).rejects.toMatchObject({ code: 'DELIVERY_UNCERTAIN', retryable: false });
    expect(store.all()).toMatchObject([{ status: 'uncertain', provider: 'meta' }]);
  });
});
