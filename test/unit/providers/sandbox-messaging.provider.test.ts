import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, test } from 'vitest';
import type { OutgoingMessage } from '../../../src/ports/messaging-provider.port.js';
import { SandboxMessagingProvider } from '../../../src/providers/sandbox-messaging.provider.js';
import { InMemoryOutboundMessageStore, ManualClock } from '../../fixtures/in-memory-outbound-message.store.js';

const message = (overrides: Partial<OutgoingMessage> = {}): OutgoingMessage => {
  const instanceId = randomUUID();
  return {
    channel: 'whatsapp',
    to: '+15550002222',
    text: 'Your order shipped',
    instanceId,
    stepId: 'notify',
    idempotencyKey: `${instanceId}:notify`,
    ...overrides,
  };
};

describe('SandboxMessagingProvider', () => {
  let clock: ManualClock;
  let store: InMemoryOutboundMessageStore;
  let sandbox: SandboxMessagingProvider;
  beforeEach(() => {
    clock = new ManualClock();
    store = new InMemoryOutboundMessageStore(clock);
    sandbox = new SandboxMessagingProvider({ store, clock, claimTimeoutMs: 60_000 });
  });

  test('records the message and answers sandbox-<record id>', async () => {
    const m = message();
    const sent = await sandbox.sendMessage(m);
    const [record] = store.all();
    expect(sent.providerMessageId).toBe(`sandbox-${record!.id}`);
    expect(record).toMatchObject({
      instanceId: m.instanceId,
      stepId: 'notify',
      channel: 'whatsapp',
      kind: 'message',
      recipient: '+15550002222',
      text: 'Your order shipped',
      provider: 'sandbox',
      status: 'sent',
      providerMessageId: sent.providerMessageId,
      idempotencyKey: m.idempotencyKey,
    });
  });

  test('a repeat with the same key answers the first id and records nothing new', async () => {
    const m = message();
    const first = await sandbox.sendMessage(m);
    const again = await sandbox.sendMessage({ ...m, text: 'changed' });
    expect(again).toEqual(first);
    expect(store.all()).toHaveLength(1);
    expect(store.all()[0]!.text).toBe('Your order shipped');
  });

  test('different keys make different records', async () => {
    await sandbox.sendMessage(message());
    await sandbox.sendMessage(message());
    expect(store.all()).toHaveLength(2);
  });

  test('records a like once, with the liked message id', async () => {
    const instanceId = randomUUID();
    const like = {
      channel: 'instagram' as const,
      messageId: 'mid.123',
      instanceId,
      stepId: 'like',
      idempotencyKey: `${instanceId}:like`,
      recipientId: 'igsid-9',
    };
    await sandbox.likeMessage(like);
    await sandbox.likeMessage(like);
    expect(store.all()).toHaveLength(1);
    expect(store.all()[0]).toMatchObject({ kind: 'like', targetMessageId: 'mid.123', recipient: 'igsid-9', text: null, provider: 'sandbox' });
  });

  test('a key claimed by a real provider attempt still in flight: retry later', async () => {
    const m = message();
    const now = clock.now();
    store.seed({
      id: randomUUID(),
      instanceId: m.instanceId,
      stepId: m.stepId,
      channel: 'whatsapp',
      kind: 'message',
      recipient: m.to,
      text: m.text,
      targetMessageId: null,
      provider: 'twilio',
      providerMessageId: null,
      status: 'sending',
      error: null,
      idempotencyKey: m.idempotencyKey,
      createdAt: now,
      updatedAt: now,
    });
    await expect(sandbox.sendMessage(m)).rejects.toMatchObject({ code: 'SEND_IN_PROGRESS', retryable: true });
    clock.advance(60_000);
    await expect(sandbox.sendMessage(m)).rejects.toMatchObject({ code: 'DELIVERY_UNCERTAIN', retryable: false });
    expect(store.all()[0]).toMatchObject({ status: 'uncertain', provider: 'twilio' });
  });
});
