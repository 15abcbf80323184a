import { randomUUID } from 'node:crypto';
import { describe, expect, test, vi } from 'vitest';
import type { MessagingChannel, OutgoingMessage } from '../../../src/ports/messaging-provider.port.js';
import { configureVendors } from '../../../src/providers/messaging-vendor.js';
import { createMessagingProviders } from '../../../src/providers/provider-registry.js';
import { messagingVendors } from '../../../src/providers/vendors.js';
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

const twilio = {
  TWILIO_ACCOUNT_SID: 'AC1',
  TWILIO_AUTH_TOKEN: 't',
  TWILIO_SMS_FROM: '+15550000000',
  TWILIO_WHATSAPP_FROM: '+15550000001',
  TWILIO_BASE_URL: 'https://twilio.test',
};
const meta = { META_PAGE_ACCESS_TOKEN: 'tok', META_GRAPH_BASE_URL: 'https://meta.test' };

/** The built-in vendors with the settings of this environment, as `loadConfig` binds them. */
const vendors = (env: Record<string, string> = {}) => {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const { setup, problems } = configureVendors(messagingVendors, set);
  expect(problems).toEqual([]);
  return setup.vendors;
};

describe('createMessagingProviders', () => {
  test('without credentials every channel goes to the sandbox', async () => {
    const store = new InMemoryOutboundMessageStore();
    const fetch = vendorFetch();
    const providers = createMessagingProviders({ store, fetch, vendors: vendors() });
    for (const channel of ['sms', 'whatsapp', 'instagram'] as const) {
      const sent = await providers(channel).sendMessage(message(channel));
      expect(sent.providerMessageId).toMatch(/^sandbox-/);
    }
    expect(fetch).not.toHaveBeenCalled();
    expect(store.all().map((r) => r.provider)).toEqual(['sandbox', 'sandbox', 'sandbox']);
    expect(providers.routes).toEqual({ sms: 'sandbox', whatsapp: 'sandbox', instagram: 'sandbox' });
  });

  test('Twilio carries SMS and WhatsApp, Meta carries Instagram, when configured', async () => {
    const store = new InMemoryOutboundMessageStore();
    const fetch = vendorFetch();
    const providers = createMessagingProviders({ store, fetch, vendors: vendors({ ...twilio, ...meta }) });
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
    expect(providers.routes).toEqual({ sms: 'twilio', whatsapp: 'twilio', instagram: 'meta' });
  });

  test('each vendor is independent', () => {
    const routes = (env: Record<string, string>) => createMessagingProviders({ store: new InMemoryOutboundMessageStore(), vendors: vendors(env) }).routes;
    expect(routes(meta)).toEqual({ sms: 'sandbox', whatsapp: 'sandbox', instagram: 'meta' });
    expect(routes(twilio)).toEqual({ sms: 'twilio', whatsapp: 'twilio', instagram: 'sandbox' });
  });

  test('only the Instagram provider can like', () => {
    for (const env of [{}, { ...twilio, ...meta }]) {
      const providers = createMessagingProviders({ store: new InMemoryOutboundMessageStore(), vendors: vendors(env) });
      expect(providers('instagram').likeMessage).toBeTypeOf('function');
      expect(providers('sms').likeMessage).toBeUndefined();
      expect(providers('whatsapp').likeMessage).toBeUndefined();
    }
  });

  test('a Twilio account without a sender for the channel fails permanently, before recording anything', async () => {
    const store = new InMemoryOutboundMessageStore();
    const providers = createMessagingProviders({ store, fetch: vendorFetch(), vendors: vendors({ ...twilio, TWILIO_WHATSAPP_FROM: '' }) });
    await expect(providers('whatsapp').sendMessage(message('whatsapp'))).rejects.toMatchObject({
      code: 'NOT_CONFIGURED',
      retryable: false,
    });
    expect(store.all()).toHaveLength(0);
  });

  test('a channel no vendor declares fails permanently with NOT_CONFIGURED', () => {
    const providers = createMessagingProviders({ store: new InMemoryOutboundMessageStore(), vendors: vendors() });
    expect(() => providers('carrier-pigeon')).toThrow(expect.objectContaining({ code: 'NOT_CONFIGURED', retryable: false }));
    expect(Object.keys(providers.routes).sort()).toEqual(['instagram', 'sms', 'whatsapp']);
  });

  test('refuses a claim timeout that does not outlast the vendor timeout', () => {
    expect(() => createMessagingProviders({ store: new InMemoryOutboundMessageStore(), vendors: vendors(), timeoutMs: 5_000, claimTimeoutMs: 5_000 })).toThrow(
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
    const providers = createMessagingProviders({ store, fetch: fetchFailing('ECONNREFUSED'), vendors: vendors(twilio) });
    await expect(providers('sms').sendMessage(message('sms'))).rejects.toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
    expect(store.all()).toHaveLength(0);
  });

  test('a connection lost mid-request: uncertain, recorded, not retried', async () => {
    const store = new InMemoryOutboundMessageStore();
    const providers = createMessagingProviders({ store, fetch: fetchFailing('UND_ERR_SOCKET'), vendors: vendors(meta) });
    const m = message('instagram');
    await expect(providers('instagram').sendMessage(m)).rejects.toMatchObject({ code: 'DELIVERY_UNCERTAIN', retryable: false });
    expect(store.all()).toMatchObject([{ status: 'uncertain', provider: 'meta' }]);
  });
});
