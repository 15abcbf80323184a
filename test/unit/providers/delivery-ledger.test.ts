import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { DeliveryLedger, deliveryDraft, type DeliveryDraft } from '../../../src/providers/delivery-ledger.js';
import { ProviderFailure } from '../../../src/providers/provider-failure.js';
import { InMemoryOutboundMessageStore, ManualClock } from '../../fixtures/in-memory-outbound-message.store.js';

const draft = (): DeliveryDraft => {
  const instanceId = randomUUID();
  return {
    instanceId,
    stepId: 'sms',
    idempotencyKey: `${instanceId}:sms`,
    channel: 'sms',
    kind: 'message',
    recipient: '+15550003333',
    text: 'hi',
    targetMessageId: null,
    provider: 'twilio',
  };
};

const notSent = (retryable: boolean) =>
  new ProviderFailure('refused', { code: retryable ? 'PROVIDER_UNAVAILABLE' : 'RECIPIENT_INVALID', retryable });

describe('DeliveryLedger (record-before-send)', () => {
  let clock: ManualClock;
  let store: InMemoryOutboundMessageStore;
  let ledger: DeliveryLedger;
  beforeEach(() => {
    clock = new ManualClock();
    store = new InMemoryOutboundMessageStore(clock);
    ledger = new DeliveryLedger({ store, clock, claimTimeoutMs: 30_000 });
  });

  test('claims, sends once and records the vendor id', async () => {
    const d = draft();
    const send = vi.fn(async () => {
      // The claim is in the store before the vendor is called.
      expect(store.all()).toMatchObject([{ status: 'sending', idempotencyKey: d.idempotencyKey }]);
      return 'SM1';
    });
    const record = await ledger.deliverOnce(d, send);
    expect(record).toMatchObject({ status: 'sent', providerMessageId: 'SM1' });
    const again = await ledger.deliverOnce(d, send);
    expect(again.id).toBe(record.id);
    expect(send).toHaveBeenCalledTimes(1);
  });

  test('a refusal releases the claim so a retry sends again', async () => {
    const d = draft();
    await expect(ledger.deliverOnce(d, async () => { throw notSent(true); })).rejects.toMatchObject({ retryable: true });
    expect(store.all()).toHaveLength(0);
    const record = await ledger.deliverOnce(d, async () => 'SM2');
    expect(record).toMatchObject({ status: 'sent', providerMessageId: 'SM2' });
  });

  test('a permanent refusal keeps its code and retryable: false', async () => {
    await expect(ledger.deliverOnce(draft(), async () => { throw notSent(false); })).rejects.toMatchObject({
      code: 'RECIPIENT_INVALID',
      retryable: false,
    });
  });

  test('an uncertain outcome is recorded and never sent again', async () => {
    const d = draft();
    const timeout = new ProviderFailure('no answer', { code: 'TIMEOUT', retryable: true, delivery: 'uncertain' });
    await expect(ledger.deliverOnce(d, async () => { throw timeout; })).rejects.toMatchObject({
      code: 'DELIVERY_UNCERTAIN',
      retryable: false,
    });
    expect(store.all()).toMatchObject([{ status: 'uncertain', error: 'no answer' }]);
    const send = vi.fn(async () => 'SM3');
    await expect(ledger.deliverOnce(d, send)).rejects.toMatchObject({ code: 'DELIVERY_UNCERTAIN' });
    expect(send).not.toHaveBeenCalled();
  });

  test('an unexpected error from send counts as uncertain', async () => {
    await expect(ledger.deliverOnce(draft(), async () => { throw new TypeError('boom'); })).rejects.toMatchObject({
      code: 'DELIVERY_UNCERTAIN',
    });
  });

  test('a re-run after a crash mid-send: in progress within the claim timeout, uncertain after', async () => {
    const d = draft();
    // The first attempt claims and "crashes": its send never settles.
    void ledger.deliverOnce(d, () => new Promise<string>(() => {}));
    await vi.waitFor(() => expect(store.all()).toHaveLength(1));
    const send = vi.fn(async () => 'SM4');
    await expect(ledger.deliverOnce(d, send)).rejects.toMatchObject({ code: 'SEND_IN_PROGRESS', retryable: true });
    clock.advance(30_000);
    await expect(ledger.deliverOnce(d, send)).rejects.toMatchObject({ code: 'DELIVERY_UNCERTAIN', retryable: false });
    expect(send).not.toHaveBeenCalled();
    expect(store.all()).toMatchObject([{ status: 'uncertain' }]);
  });

  test('recordSent records once per key', async () => {
    const d = { ...draft(), provider: 'sandbox' as const };
    const first = await ledger.recordSent(d, (id) => `sandbox-${id}`);
    const second = await ledger.recordSent(d, (id) => `sandbox-${id}`);
    expect(second.id).toBe(first.id);
    expect(first.providerMessageId).toBe(`sandbox-${first.id}`);
  });
});

describe('deliveryDraft (the one place a delivery record is written out)', () => {
  const origin = { instanceId: 'i-1', stepId: 's', idempotencyKey: 'i-1:s' };

  test('a message records its recipient and text', () => {
    expect(deliveryDraft('twilio', { ...origin, channel: 'sms', to: '+1555', text: 'hi' })).toEqual({
      ...origin,
      channel: 'sms',
      provider: 'twilio',
      kind: 'message',
      recipient: '+1555',
      text: 'hi',
      targetMessageId: null,
    });
  });

  test('a like records the message it reacts to, and its sender when given', () => {
    expect(deliveryDraft('meta', { ...origin, channel: 'instagram', messageId: 'mid.1', recipientId: 'igsid' })).toEqual({
      ...origin,
      channel: 'instagram',
      provider: 'meta',
      kind: 'like',
      recipient: 'igsid',
      text: null,
      targetMessageId: 'mid.1',
    });
    expect(deliveryDraft('sandbox', { ...origin, channel: 'instagram', messageId: 'mid.1' }).recipient).toBeNull();
  });
});
