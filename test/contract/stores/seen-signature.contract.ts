import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeenSignatureStore } from '../../../src/ports/seen-signature.store.port.js';
import type { MakeStore, StoreUnderTest } from './store-harness.js';

const digest = () => randomBytes(32).toString('hex');
const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms);

/**
 * What every SeenSignatureStore must do: a message is claimed once until it expires, per
 * workspace; concurrent claims have one winner; an expired or released claim can be made again.
 */
export function describeSeenSignatureStoreContract(name: string, make: MakeStore<SeenSignatureStore>): void {
  describe(`SeenSignatureStore contract: ${name}`, () => {
    let under: StoreUnderTest<SeenSignatureStore>;
    let store: SeenSignatureStore;
    beforeAll(async () => {
      under = await make();
      store = under.store;
    });
    afterAll(async () => {
      await under?.close();
    });

    it('claims a message once until it expires; then it may be claimed again', async () => {
      const { workspaceId } = await under.newScope();
      const d = digest();
      expect(await store.claim({ workspaceId, digest: d, expiresAt: at(300_000), now: at(0) })).toBe(true);
      expect(await store.claim({ workspaceId, digest: d, expiresAt: at(300_000), now: at(1_000) })).toBe(false);
      expect(await store.claim({ workspaceId, digest: d, expiresAt: at(300_000), now: at(299_999) })).toBe(false);
      expect(await store.claim({ workspaceId, digest: d, expiresAt: at(600_000), now: at(300_000) })).toBe(true);
      expect(await store.claim({ workspaceId, digest: d, expiresAt: at(600_000), now: at(300_001) })).toBe(false);
    });

    it('a message of one workspace is not a replay in another', async () => {
      const { workspaceId } = await under.newScope();
      const other = await under.newScope();
      const d = digest();
      expect(await store.claim({ workspaceId, digest: d, expiresAt: at(300_000), now: at(0) })).toBe(true);
      expect(await store.claim({ workspaceId: other.workspaceId, digest: d, expiresAt: at(300_000), now: at(0) })).toBe(true);
      expect(await store.claim({ workspaceId: other.workspaceId, digest: d, expiresAt: at(300_000), now: at(0) })).toBe(false);
    });

    it('of claims made at once, exactly one wins', async () => {
      const { workspaceId } = await under.newScope();
      const d = digest();
      const claims = await Promise.all(
        Array.from({ length: 8 }, () => store.claim({ workspaceId, digest: d, expiresAt: at(300_000), now: at(0) })),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
    });

    it('a released claim can be made again; releasing another workspace\'s does nothing', async () => {
      const { workspaceId } = await under.newScope();
      const other = await under.newScope();
      const d = digest();
      expect(await store.claim({ workspaceId, digest: d, expiresAt: at(300_000), now: at(0) })).toBe(true);
      await store.release({ workspaceId: other.workspaceId, digest: d });
      expect(await store.claim({ workspaceId, digest: d, expiresAt: at(300_000), now: at(0) })).toBe(false);
      await store.release({ workspaceId, digest: d });
      expect(await store.claim({ workspaceId, digest: d, expiresAt: at(300_000), now: at(0) })).toBe(true);
    });
  });
}
