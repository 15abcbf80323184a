import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MessagingProvider, OutgoingMessage } from '../../../src/ports/messaging-provider.port.js';
import { InMemoryOutboundMessageStore } from '../../fixtures/in-memory-outbound-message.store.js';
import { startLocalHttpServer, type LocalHttpServer } from '../../fixtures/local-http-server.js';
import type { MessagingAdapter } from './messaging-harness.js';

/**
 * What every MessagingProvider must do: one effect per idempotency key however often, and however
 * concurrently, a step is re-run; and, for vendors, answers classified by data (`retryable`,
 * `code`, `status`) so the engine decides about retrying without reading messages:
 * - a 4xx refusal (other than 408 and 429) is permanent, and frees the key (nothing was sent);
 * - 408, 429 and 5xx are transient, and free the key too;
 * - no answer in time may have been delivered: the provider says so (`DELIVERY_UNCERTAIN`, not
 *   retryable, the vendor's `TIMEOUT` as its cause) and never calls the vendor again for that key;
 * - no connection at all is transient, and nothing was sent.
 */
export function describeMessagingProviderContract(adapter: MessagingAdapter): void {
  describe(`MessagingProvider contract: ${adapter.name}`, () => {
    let server: LocalHttpServer | undefined;
    let store: InMemoryOutboundMessageStore;
    let provider: MessagingProvider;
    /** Vendor calls before the current test began. */
    let callsBefore = 0;
    const vendorCalls = () => (server?.received.length ?? 0) - callsBefore;
    const accept = (res: ServerResponse) => adapter.vendor?.accept(res, server?.received.length ?? 0);

    beforeAll(async () => {
      if (adapter.vendor) server = await startLocalHttpServer();
    });
    afterAll(async () => {
      await server?.close();
    });
    beforeEach(() => {
      store = new InMemoryOutboundMessageStore();
      provider = build();
      server?.handle((_req, res) => accept(res));
      callsBefore = server?.received.length ?? 0;
    });

    const build = (options: { baseUrl?: string; timeoutMs?: number } = {}): MessagingProvider =>
      adapter.build({ store, baseUrl: options.baseUrl ?? server?.origin ?? 'http://127.0.0.1:9', timeoutMs: options.timeoutMs ?? 5_000 });
    const message = (overrides: Partial<OutgoingMessage> = {}): OutgoingMessage => {
      const instanceId = randomUUID();
      return { channel: adapter.channel, to: adapter.recipient, text: 'Hello from the contract', instanceId, stepId: 'send', idempotencyKey: `${instanceId}:send`, ...overrides };
    };

    it('sends a message, once, and answers the id it was given', async () => {
      const sent = await provider.sendMessage(message());
      if (adapter.vendor) {
        expect(vendorCalls()).toBe(1);
        expect(sent.providerMessageId).toBe(adapter.vendor.messageId(server!.received.length));
      } else {
        expect(sent.providerMessageId).toMatch(/^sandbox-/);
      }
      expect(store.all()).toMatchObject([{ status: 'sent', providerMessageId: sent.providerMessageId, text: 'Hello from the contract' }]);
    });

    it('a re-run with the same idempotency key does not reach the vendor again and gets the same answer', async () => {
      const first = message();
      const sent = await provider.sendMessage(first);
      // A re-run after a crash: a new provider instance, the same key (and even another text).
      const again = await build().sendMessage({ ...first, text: 'changed on the re-run' });
      expect(again).toEqual(sent);
      expect(vendorCalls()).toBe(adapter.vendor ? 1 : 0);
      expect(store.all()).toHaveLength(1);
    });

    it('concurrent attempts of one key: one effect; the others get its answer or are told to come back', async () => {
      const first = message();
      const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => provider.sendMessage(first)));
      expect(vendorCalls()).toBe(adapter.vendor ? 1 : 0);
      const answers = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.providerMessageId] : []));
      expect(answers.length).toBeGreaterThanOrEqual(1);
      expect(new Set(answers).size).toBe(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'SEND_IN_PROGRESS', retryable: true });
      }
      expect(store.all()).toHaveLength(1);
    });

    it('different keys are different messages', async () => {
      const a = await provider.sendMessage(message());
      const b = await provider.sendMessage(message());
      expect(a.providerMessageId).not.toBe(b.providerMessageId);
      expect(vendorCalls()).toBe(adapter.vendor ? 2 : 0);
      expect(store.all()).toHaveLength(2);
    });

    it('when beforeSend throws nothing is sent, and a later attempt of the key may send', async () => {
      const first = message();
      await expect(
        provider.sendMessage({
          ...first,
          beforeSend: () => {
            throw new Error('lease lost');
          },
        }),
      ).rejects.toThrow('lease lost');
      expect(vendorCalls()).toBe(0);
      expect(store.all()).toEqual([]);
      await provider.sendMessage(first);
      expect(store.all()).toMatchObject([{ status: 'sent' }]);
    });

    if (adapter.likes) {
      it('a like is made once per key', async () => {
        const like = { channel: 'instagram' as const, messageId: 'mid.liked', recipientId: 'igsid-contract', instanceId: randomUUID(), stepId: 'like' };
        const request = { ...like, idempotencyKey: `${like.instanceId}:like` };
        await provider.likeMessage!(request);
        await build().likeMessage!(request);
        expect(vendorCalls()).toBe(adapter.vendor ? 1 : 0);
        expect(store.all()).toMatchObject([{ kind: 'like', targetMessageId: 'mid.liked', status: 'sent' }]);
      });
    }

    const vendor = adapter.vendor;
    if (!vendor) return;

    it.each([400, 401, 403, 404, 422])('a %i refusal is permanent; nothing was sent, so the key is free again', async (status) => {
      server!.handle((_req, res) => vendor.refuse(res, status));
      const first = message();
      await expect(provider.sendMessage(first)).rejects.toMatchObject({ name: 'ProviderFailure', retryable: false, status });
      expect(store.all()).toEqual([]);
      server!.handle((_req, res) => accept(res));
      await expect(provider.sendMessage(first)).resolves.toMatchObject({ providerMessageId: expect.any(String) });
      expect(vendorCalls()).toBe(2);
    });

    it.each([408, 429, 500, 502, 503])('a %i answer is transient; nothing was sent, so a retry sends', async (status) => {
      server!.handle((_req, res) => vendor.refuse(res, status));
      const first = message();
      await expect(provider.sendMessage(first)).rejects.toMatchObject({
        name: 'ProviderFailure',
        retryable: true,
        status,
        code: status === 429 ? 'RATE_LIMITED' : 'PROVIDER_UNAVAILABLE',
      });
      expect(store.all()).toEqual([]);
      server!.handle((_req, res) => accept(res));
      await expect(provider.sendMessage(first)).resolves.toMatchObject({ providerMessageId: expect.any(String) });
      expect(vendorCalls()).toBe(2);
    });

    it('no answer in time may have been delivered: the key is never sent again', async () => {
      // The vendor takes the request and never answers: the timeout itself is under test.
      server!.handle(() => {});
      const slow = build({ timeoutMs: 200 });
      const first = message();
      const failure: unknown = await slow.sendMessage(first).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toMatchObject({ code: 'DELIVERY_UNCERTAIN', retryable: false, delivery: 'uncertain' });
      expect((failure as Error).cause).toMatchObject({ code: 'TIMEOUT', retryable: true });
      expect(store.all()).toMatchObject([{ status: 'uncertain' }]);
      server!.handle((_req, res) => accept(res));
      await expect(build().sendMessage(first)).rejects.toMatchObject({ code: 'DELIVERY_UNCERTAIN', retryable: false });
      expect(vendorCalls()).toBe(1);
    });

    it('no connection is transient, and nothing was sent', async () => {
      const gone = await startLocalHttpServer();
      await gone.close();
      const first = message();
      await expect(build({ baseUrl: gone.origin }).sendMessage(first)).rejects.toMatchObject({ code: 'NETWORK_ERROR', retryable: true, delivery: 'not-sent' });
      expect(store.all()).toEqual([]);
      await expect(provider.sendMessage(first)).resolves.toMatchObject({ providerMessageId: expect.any(String) });
    });
  });
}
