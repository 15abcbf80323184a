import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/persistence/database.js';
import { InboundDeliveryRepository } from '../../src/persistence/inbound-delivery.repository.js';
import type { InboundMessage, NewInboundDelivery } from '../../src/ports/inbound-delivery.store.port.js';
import { waitFor } from '../support/fake-http-server.js';
import { isolatedDatabase } from './webhooks/isolated-database.js';

/**
 * The inbound delivery store at the repository: a delivery is stored once per signed digest, and
 * claims hand each unprocessed delivery to one claimer at a time, again once a lease runs out.
 */
describe('InboundDeliveryRepository', () => {
  let isolated: Awaited<ReturnType<typeof isolatedDatabase>>;
  let dataDir: string | undefined;
  let a: Database;
  let b: Database;
  let store: InboundDeliveryRepository;
  let other: InboundDeliveryRepository;

  beforeAll(async () => {
    // Claims look at every delivery of the database: one of this file's own.
    isolated = await isolatedDatabase();
    dataDir = isolated.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'wfb-deliveries-'));
    a = await openDatabase({ url: isolated.env.DATABASE_URL, dataDir: dataDir ?? '', poolSize: 4 });
    // A second pool stands for a second process (on the embedded database, the same one: it is single-process).
    b = isolated.env.DATABASE_URL ? await openDatabase({ url: isolated.env.DATABASE_URL, dataDir: '', poolSize: 4 }) : a;
    store = new InboundDeliveryRepository(a.db);
    other = new InboundDeliveryRepository(b.db);
  });
  afterAll(async () => {
    if (b !== a) await b?.close();
    await a?.close();
    await isolated?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
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
  async function drain(claimer: InboundDeliveryRepository, got: string[]): Promise<void> {
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
});
