import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventSigningStore } from '../../../src/ports/event-signing.store.port.js';
import type { MakeStore, StoreUnderTest } from './store-harness.js';

/**
 * What every EventSigningStore must do: one secret per workspace, replaced at once by a new one,
 * nothing found from another workspace or for an id that is not one, never the secret in a record.
 */
export function describeEventSigningStoreContract(name: string, make: MakeStore<EventSigningStore>): void {
  describe(`EventSigningStore contract: ${name}`, () => {
    let under: StoreUnderTest<EventSigningStore>;
    let store: EventSigningStore;
    beforeAll(async () => {
      under = await make();
      store = under.store;
    });
    afterAll(async () => {
      await under?.close();
    });

    it('keeps one secret per workspace; the record shows when it was made, never the secret', async () => {
      const { workspaceId } = await under.newScope();
      expect(await store.get(workspaceId)).toBeUndefined();
      expect(await store.secretOf(workspaceId)).toBeUndefined();
      const record = await store.put(workspaceId, 'whsec_first');
      expect(record).toEqual({ workspaceId, createdAt: expect.any(Date) });
      expect(JSON.stringify(record)).not.toContain('whsec_first');
      expect(await store.get(workspaceId)).toEqual(record);
      expect(await store.secretOf(workspaceId)).toBe('whsec_first');
    });

    it('a new secret replaces the old one at once and is dated anew', async () => {
      const { workspaceId } = await under.newScope();
      const first = await store.put(workspaceId, 'whsec_old');
      const second = await store.put(workspaceId, 'whsec_new');
      expect(second.createdAt.getTime()).toBeGreaterThanOrEqual(first.createdAt.getTime());
      expect(await store.secretOf(workspaceId)).toBe('whsec_new');
      expect(await store.get(workspaceId)).toEqual(second);
    });

    it("finds nothing of another workspace's, nor for an unknown or malformed id, and deletes once", async () => {
      const { workspaceId } = await under.newScope();
      const other = await under.newScope();
      await store.put(workspaceId, 'whsec_mine');
      expect(await store.get(other.workspaceId)).toBeUndefined();
      expect(await store.secretOf(other.workspaceId)).toBeUndefined();
      expect(await store.delete(other.workspaceId)).toBe(false);
      for (const id of [randomUUID(), 'not-a-uuid', '', "'; drop table workspaces; --"]) {
        expect(await store.get(id)).toBeUndefined();
        expect(await store.secretOf(id)).toBeUndefined();
        expect(await store.delete(id)).toBe(false);
      }
      expect(await store.secretOf(workspaceId)).toBe('whsec_mine');
      expect(await store.delete(workspaceId)).toBe(true);
      expect(await store.delete(workspaceId)).toBe(false);
      expect(await store.get(workspaceId)).toBeUndefined();
      expect(await store.secretOf(workspaceId)).toBeUndefined();
    });
  });
}
