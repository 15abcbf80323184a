import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundDeliveryStore, InboundMessage, NewInboundDelivery } from '../../../src/ports/inbound-delivery.store.port.js';
import { waitFor } from '../../support/fake-http-server.js';
import type { MakeStore, StoreUnderTest } from './store-harness.js';

/** A second adapter on the same data, standing for another process (or the same one where there is only one). */
export interface InboundDeliveryPeer {
  readonly peer: InboundDeliveryStore;
}

/**
 * What every InboundDeliveryStore must do: a delivery is stored once per signed digest, and claims
 * hand each unprocessed delivery to one claimer at a time, again once a lease runs out. Claims see
 * every delivery of the store, so the store must hold only this suite's.
 */
export function describeInboundDeliveryStoreContract(name: string, make: MakeStore<InboundDeliveryStore, InboundDeliveryPeer>): void {
describe(`InboundDeliveryStore contract: ${name}`, () => {
  let under: StoreUnderTest<InboundDeliveryStore, InboundDeliveryPeer>;
  let store: InboundDeliveryStore;
  let other: InboundDeliveryStore;

  beforeAll(async () => {
    under = await make();
    store = under.store;
    other = under.peer;
  });
  afterAll(async () => {
    await under?.close();
  });

  const message = (text: string): InboundMessage => ({
    provider: 'meta',
    channel: 'instagram',
    from: 'ig-1',
    to: 'ig-2',
    text,
    providerMessageId: `mid.${randomBytes(8).toString('hex')}`,
    receivedAt: new Date('2026-03-04T05:06:07.089Z'),
  });
  const delivery = (messages: InboundMessage[] = [message('hello')]): NewInboundDelivery => {
    const digest = randomBytes(32).toString('hex');
    return { provider: 'meta', signedDigest: digest, contentDigest: digest, messages, ignored: 2, receivedAt: new Date() };
  };
  /** Claims until none is left, finishing each. */
  async function drain(claimer: InboundDeliveryStore, got: string[]): Promise<void> {
    for (let claimed = await claimer.claimNext(10_000); claimed; claimed = await claimer.claimNext(10_000)) {
      got.push(claimed.delivery.id);
      expect(await claimer.finish(claimed, 0)).toBe(true);
    }
  }

  it('stores a delivery once per signed digest; its messages come back with the claim', async () => {
    const input = delivery([message('one'), message('two')]);
    const first = await store.save(input);
    expect(first).toMatchObject({ created: true, delivery: { messageCount: 2, ignored: 2, processedAt: null } });
    const again = await store.save({ ...input, contentDigest: 'other' });
    expect(again.created).toBe(false);
    expect(again.delivery).toEqual(first.delivery);
    // A delivery with no message is processed as it is stored.
    expect((await store.save(delivery([]))).delivery.processedAt).toBeInstanceOf(Date);

    const claimed = await store.claimNext(10_000);
    expect(claimed?.delivery.id).toBe(first.delivery.id);
    expect(claimed?.messages).toEqual(input.messages);
    expect(await store.claimNext(10_000)).toBeUndefined();
    expect(await store.finish(claimed!, 3)).toBe(true);
  });

  it('hands each delivery to one of two claimers racing for them', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 40; i++) ids.add((await store.save(delivery())).delivery.id);
    const byA: string[] = [];
    const byB: string[] = [];
    await Promise.all([drain(store, byA), drain(other, byB), drain(store, byA), drain(other, byB)]);
    const all = [...byA, ...byB];
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(all)).toEqual(ids);
  });

  it('gives a delivery whose lease ran out to the next claimer; the old claim can no longer extend or finish it', async () => {
    const { delivery: stored } = await store.save(delivery());
    const first = (await store.claimNext(200))!;
    expect(first.delivery.id).toBe(stored.id);
    expect(await other.claimNext(10_000)).toBeUndefined();
    const second = await waitFor(() => other.claimNext(10_000), (c) => c !== undefined, { what: 'the lease to run out' });
    expect(second?.delivery.id).toBe(stored.id);
    expect(second!.claim).toBe(first.claim + 1);
    expect(await store.extendClaim(first, 10_000)).toBe(false);
    expect(await store.finish(first, 1)).toBe(false);
    expect(await other.extendClaim(second!, 10_000)).toBe(true);
    expect(await other.finish(second!, 1)).toBe(true);
  });

  it('a delivery saved already claimed is not claimed by others; released, it is at once', async () => {
    const { claimed } = await store.save(delivery(), { claimForMs: 10_000 });
    expect(claimed?.claim).toBe(1);
    expect(await other.claimNext(10_000)).toBeUndefined();
    await store.release(claimed!);
    const retaken = await other.claimNext(10_000);
    expect(retaken?.delivery.id).toBe(claimed!.delivery.id);
    expect(await other.finish(retaken!, 0)).toBe(true);
  });

  it('a finished delivery is claimed by no one and cannot be finished, extended or released back', async () => {
    const input = delivery();
    const { delivery: stored } = await store.save(input);
    const claimed = (await store.claimNext(10_000))!;
    expect(claimed.delivery.id).toBe(stored.id);
    expect(await store.finish(claimed, 1)).toBe(true);
    expect(await store.finish(claimed, 1)).toBe(false);
    expect(await store.extendClaim(claimed, 10_000)).toBe(false);
    await store.release(claimed);
    expect(await other.claimNext(10_000)).toBeUndefined();
    // A redelivery of a processed delivery finds it, processed.
    const again = await store.save(input);
    expect(again.created).toBe(false);
    expect(again.delivery.id).toBe(stored.id);
    expect(again.delivery.processedAt).toBeInstanceOf(Date);
  });

  it('claims the oldest unprocessed delivery first', async () => {
    // Saved newest first: the order comes from when they were received, not from when they were stored.
    const second = await store.save(delivery());
    const first = await store.save({ ...delivery(), receivedAt: new Date(Date.now() - 60_000) });
    const a = (await store.claimNext(10_000))!;
    const b = (await other.claimNext(10_000))!;
    expect([a.delivery.id, b.delivery.id]).toEqual([first.delivery.id, second.delivery.id]);
    expect(await store.finish(a, 0)).toBe(true);
    expect(await other.finish(b, 0)).toBe(true);
  });
});
}
