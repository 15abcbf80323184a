import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundChannel, InboundMessageStore, InboundProvider } from '../../../src/ports/inbound-message.store.port.js';
import type { MakeStore, StoreUnderTest } from './store-harness.js';

/** How a suite puts a workflow in the state the trigger index reads: its status and newest published version. */
export interface WorkflowHeads {
  setHead(scope: { workspaceId: string; workflowId: string }, head: { status: 'DRAFT' | 'ACTIVE' | 'ARCHIVED'; latestVersion: number }): Promise<void>;
}

const mid = () => `mid.${randomBytes(8).toString('hex')}`;
const inbound = (providerMessageId = mid(), provider: InboundProvider = 'meta', channel: InboundChannel = 'instagram') => ({
  provider,
  providerMessageId,
  channel,
  receivedAt: new Date('2026-03-04T05:06:07.089Z'),
});

/**
 * What every InboundMessageStore must do: a provider message is recorded once however often it
 * is delivered, and the trigger index finds exactly the active workflows whose newest version is
 * triggered on a channel, never going back to an older version. Deployment-wide: the store must
 * hold only this suite's workflows.
 */
export function describeInboundMessageStoreContract(name: string, make: MakeStore<InboundMessageStore, WorkflowHeads>): void {
  describe(`InboundMessageStore contract: ${name}`, () => {
    let under: StoreUnderTest<InboundMessageStore, WorkflowHeads>;
    let store: InboundMessageStore;
    beforeAll(async () => {
      under = await make();
      store = under.store;
    });
    afterAll(async () => {
      await under?.close();
    });

    it('records a provider message once; a redelivery gets the first record, with its receivedAt', async () => {
      const first = await store.record(inbound());
      expect(first).toMatchObject({ created: true, record: { processedAt: null } });
      const again = await store.record({ ...inbound(first.record.providerMessageId), receivedAt: new Date() });
      expect(again).toEqual({ created: false, record: first.record });
      // The same id from another provider is another message.
      expect((await store.record(inbound(first.record.providerMessageId, 'twilio', 'sms'))).created).toBe(true);
    });

    it('concurrent deliveries of one message: exactly one records it', async () => {
      const id = mid();
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => store.record(inbound(id))));
      expect(outcomes.filter((o) => o.created)).toHaveLength(1);
      expect(new Set(outcomes.map((o) => o.record.id)).size).toBe(1);
    });

    it('marks a message processed, once', async () => {
      const { record } = await store.record(inbound());
      await store.markProcessed(record.id, 2);
      const processed = (await store.record(inbound(record.providerMessageId))).record;
      expect(processed.processedAt).toBeInstanceOf(Date);
      await store.markProcessed(record.id, 3);
      expect((await store.record(inbound(record.providerMessageId))).record.processedAt).toEqual(processed.processedAt);
    });

    it('records handled messages processed in one go, and leaves one recorded before as it was', async () => {
      const earlier = await store.record(inbound());
      const fresh = inbound();
      await store.recordHandled([fresh, inbound(earlier.record.providerMessageId)]);
      await store.recordHandled([]);
      expect((await store.record(fresh)).record).toMatchObject({ providerMessageId: fresh.providerMessageId, processedAt: expect.any(Date) });
      expect((await store.record(inbound(earlier.record.providerMessageId))).record).toEqual(earlier.record);
    });

    it('names the active workflows the index does not hold at their newest version, until it does', async () => {
      const active = await under.newScope();
      const draft = await under.newScope();
      await under.setHead(active, { status: 'ACTIVE', latestVersion: 1 });
      await under.setHead(draft, { status: 'DRAFT', latestVersion: 1 });
      expect(await store.staleTriggers()).toEqual([{ ...active, version: 1 }]);
      await store.saveTriggers([{ ...active, version: 1, triggerType: 'trigger.message', channel: 'sms', config: { channel: 'sms' } }]);
      expect(await store.staleTriggers()).toEqual([]);
      await under.setHead(active, { status: 'ACTIVE', latestVersion: 2 });
      expect(await store.staleTriggers()).toEqual([{ ...active, version: 2 }]);
      await store.saveTriggers([{ ...active, version: 2, triggerType: null, channel: null, config: null }]);
      expect(await store.staleTriggers()).toEqual([]);
      await store.saveTriggers([]);
    });

    it('finds the workflows a message on a channel starts: active, indexed at their newest version, of that trigger type', async () => {
      const config = (channel: string) => ({ channel, keyword: 'hi' });
      const sms = await under.newScope();
      const whatsapp = await under.newScope();
      const archived = await under.newScope();
      const behind = await under.newScope();
      await under.setHead(sms, { status: 'ACTIVE', latestVersion: 1 });
      await under.setHead(whatsapp, { status: 'ACTIVE', latestVersion: 1 });
      await under.setHead(archived, { status: 'ARCHIVED', latestVersion: 1 });
      await under.setHead(behind, { status: 'ACTIVE', latestVersion: 2 });
      await store.saveTriggers([
        { ...sms, version: 1, triggerType: 'contract.message', channel: 'sms', config: config('sms') },
        { ...whatsapp, version: 1, triggerType: 'contract.message', channel: 'whatsapp', config: config('whatsapp') },
        { ...archived, version: 1, triggerType: 'contract.message', channel: 'sms', config: config('sms') },
        // Indexed at a version that is no longer the newest: stale, so it starts nothing.
        { ...behind, version: 1, triggerType: 'contract.message', channel: 'sms', config: config('sms') },
      ]);
      expect(await store.findMessageTriggered('contract.message', 'sms')).toEqual([{ ...sms, version: 1, config: config('sms') }]);
      expect(await store.findMessageTriggered('contract.message', 'whatsapp')).toEqual([{ ...whatsapp, version: 1, config: config('whatsapp') }]);
      expect(await store.findMessageTriggered('contract.other', 'sms')).toEqual([]);
    });

    it('never replaces an index entry with one of an older version', async () => {
      const scope = await under.newScope();
      await under.setHead(scope, { status: 'ACTIVE', latestVersion: 3 });
      await store.saveTriggers([{ ...scope, version: 3, triggerType: 'contract.order', channel: 'sms', config: { channel: 'sms', v: 3 } }]);
      await store.saveTriggers([{ ...scope, version: 2, triggerType: 'contract.order', channel: 'sms', config: { channel: 'sms', v: 2 } }]);
      expect(await store.findMessageTriggered('contract.order', 'sms')).toEqual([{ ...scope, version: 3, config: { channel: 'sms', v: 3 } }]);
    });
  });
}
