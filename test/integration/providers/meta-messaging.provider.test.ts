import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { MetaMessagingProvider } from '../../../src/providers/meta-messaging.provider.js';
import { InMemoryOutboundMessageStore } from '../../fixtures/in-memory-outbound-message.store.js';
import { sendJson, startLocalHttpServer, type LocalHttpServer } from '../../fixtures/local-http-server.js';

const TOKEN = 'EAAG-page-token';

let server: LocalHttpServer;
beforeAll(async () => {
  server = await startLocalHttpServer();
});
afterAll(async () => {
  await server?.close();
});

const origin = (stepId: string) => {
  const instanceId = randomUUID();
  return { instanceId, stepId, idempotencyKey: `${instanceId}:${stepId}` };
};

describe('MetaMessagingProvider against a local fake of the Graph Send API', () => {
  let store: InMemoryOutboundMessageStore;
  let meta: MetaMessagingProvider;
  beforeEach(() => {
    server.received.length = 0;
    server.handle((_req, res) => sendJson(res, 200, { recipient_id: 'igsid-42', message_id: 'aWdfZAG1f' }));
    store = new InMemoryOutboundMessageStore();
    meta = new MetaMessagingProvider({ pageAccessToken: TOKEN, baseUrl: server.origin, store, timeoutMs: 1_000 });
  });

  test('sends a DM: path, bearer token, JSON body', async () => {
    const sent = await meta.sendMessage({ channel: 'instagram', to: 'igsid-42', text: 'Thanks for writing!', ...origin('dm') });
    expect(sent.providerMessageId).toBe('aWdfZAG1f');
    const [req] = server.received;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/v21.0/me/messages');
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req!.body)).toEqual({ recipient: { id: 'igsid-42' }, message: { text: 'Thanks for writing!' } });
    expect(store.all()).toMatchObject([{ provider: 'meta', kind: 'message', status: 'sent', providerMessageId: 'aWdfZAG1f' }]);
  });

  test('uses the configured Instagram account id and Graph version', async () => {
    const custom = new MetaMessagingProvider({
      pageAccessToken: TOKEN,
      igUserId: '17841400000000000',
      version: 'v22.0',
      baseUrl: `${server.origin}/`,
      store,
    });
    await custom.sendMessage({ channel: 'instagram', to: 'igsid-42', text: 'x', ...origin('dm') });
    expect(server.received[0]!.url).toBe('/v22.0/17841400000000000/messages');
  });

  test('likes a message with a react sender action, once per key', async () => {
    server.handle((_req, res) => sendJson(res, 200, { recipient_id: 'igsid-42' }));
    const like = { channel: 'instagram' as const, messageId: 'mid.$cAAB', recipientId: 'igsid-42', ...origin('like') };
    await meta.likeMessage(like);
    await meta.likeMessage(like);
    expect(server.received).toHaveLength(1);
    const [req] = server.received;
    expect(req!.url).toBe('/v21.0/me/messages');
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(req!.body)).toEqual({
      recipient: { id: 'igsid-42' },
      sender_action: 'react',
      payload: { message_id: 'mid.$cAAB', reaction: 'love' },
    });
    expect(store.all()).toMatchObject([{ kind: 'like', targetMessageId: 'mid.$cAAB', status: 'sent', providerMessageId: null }]);
  });

  test('a like without a recipient id sends the reaction payload alone', async () => {
    await meta.likeMessage({ channel: 'instagram', messageId: 'mid.2', ...origin('like') });
    expect(JSON.parse(server.received[0]!.body)).toEqual({
      sender_action: 'react',
      payload: { message_id: 'mid.2', reaction: 'love' },
    });
  });

  test.each([
    [400, { error: { message: 'outside of allowed window', code: 10, error_subcode: 2018278 } }, 'MESSAGING_WINDOW_CLOSED', false],
    [400, { error: { message: 'No matching user found', code: 100, error_subcode: 2018001 } }, 'RECIPIENT_INVALID', false],
    [401, { error: { message: 'Invalid OAuth access token', code: 190 } }, 'AUTH_FAILED', false],
    [400, { error: { message: 'Invalid parameter', code: 100 } }, 'PROVIDER_REJECTED', false],
    [400, { error: { message: 'Calls to this api have exceeded the rate limit', code: 613 } }, 'RATE_LIMITED', true],
    [400, { error: { message: 'An unexpected error has occurred', code: 2, is_transient: true } }, 'PROVIDER_UNAVAILABLE', true],
    [500, { error: { message: 'Internal' } }, 'PROVIDER_UNAVAILABLE', true],
  ] as const)('HTTP %i %j → %s (retryable %s)', async (status, body, code, retryable) => {
    server.handle((_req, res) => sendJson(res, status, body));
    await expect(meta.sendMessage({ channel: 'instagram', to: 'igsid-42', text: 'x', ...origin('dm') })).rejects.toMatchObject({
      code,
      retryable,
      status,
    });
    expect(store.all()).toHaveLength(0);
  });
});
