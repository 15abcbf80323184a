import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyStore } from '../../../src/ports/api-key.store.port.js';
import type { MakeStore, StoreUnderTest } from './store-harness.js';

const secret = () => ({ prefix: `wfb_${randomBytes(3).toString('hex')}`, hash: randomBytes(32).toString('hex') });

/**
 * What every ApiKeyStore must do: bootstrap once on an empty store however many processes race,
 * keys listed without their hash and scoped to their workspace, revocation that sticks. The store
 * must start empty (the bootstrap test runs first).
 */
export function describeApiKeyStoreContract(name: string, make: MakeStore<ApiKeyStore>): void {
  describe(`ApiKeyStore contract: ${name}`, () => {
    let under: StoreUnderTest<ApiKeyStore>;
    let store: ApiKeyStore;
    beforeAll(async () => {
      under = await make();
      store = under.store;
    });
    afterAll(async () => {
      await under?.close();
    });

    it('bootstraps an empty store exactly once, even when callers race', async () => {
      expect(await store.countWorkspaces()).toBe(0);
      const racing = await Promise.all(
        Array.from({ length: 4 }, (_, i) => store.bootstrapIfEmpty({ workspaceName: `w${i}`, keyName: 'first', ...secret() })),
      );
      const made = racing.filter((r) => r !== undefined);
      expect(made).toHaveLength(1);
      const { workspace, key } = made[0]!;
      expect(key).toMatchObject({ workspaceId: workspace.id, name: 'first', revokedAt: null });
      expect(await store.countWorkspaces()).toBe(1);
      expect(await store.bootstrapIfEmpty({ workspaceName: 'late', keyName: 'late', ...secret() })).toBeUndefined();
      expect(await store.listKeys(workspace.id)).toEqual([key]);
    });

    it('creates and finds workspaces; an unknown or malformed id finds none', async () => {
      const before = await store.countWorkspaces();
      const workspace = await store.createWorkspace({ name: 'acme' });
      expect(workspace).toMatchObject({ name: 'acme' });
      expect(workspace.createdAt).toBeInstanceOf(Date);
      expect(await store.getWorkspace(workspace.id)).toEqual(workspace);
      expect(await store.getWorkspace(randomUUID())).toBeUndefined();
      expect(await store.getWorkspace('not-a-uuid')).toBeUndefined();
      expect(await store.countWorkspaces()).toBe(before + 1);
    });

    it('finds a live key by its hash and never shows the hash', async () => {
      const workspace = await store.createWorkspace({ name: 'keys' });
      const s = secret();
      const key = await store.insertKey({ workspaceId: workspace.id, name: 'ci', ...s });
      expect(key).toMatchObject({ workspaceId: workspace.id, name: 'ci', prefix: s.prefix, revokedAt: null });
      expect(Object.keys(key)).not.toContain('hash');
      expect(await store.findLiveKeyByHash(s.hash)).toEqual(key);
      expect(await store.findLiveKeyByHash(secret().hash)).toBeUndefined();
    });

    it('lists a workspace keys oldest first, and none of another workspace', async () => {
      const workspace = await store.createWorkspace({ name: 'list' });
      const other = await store.createWorkspace({ name: 'other' });
      const made = [];
      for (const name of ['a', 'b', 'c']) made.push(await store.insertKey({ workspaceId: workspace.id, name, ...secret() }));
      await store.insertKey({ workspaceId: other.id, name: 'theirs', ...secret() });
      expect((await store.listKeys(workspace.id)).map((k) => k.name)).toEqual(['a', 'b', 'c']);
      expect(await store.listKeys((await store.createWorkspace({ name: 'empty' })).id)).toEqual([]);
    });

    it('revokes a key only in its own workspace; a revoked key stays revoked and is no longer found', async () => {
      const workspace = await store.createWorkspace({ name: 'revoke' });
      const other = await store.createWorkspace({ name: 'intruder' });
      const s = secret();
      const key = await store.insertKey({ workspaceId: workspace.id, name: 'k', ...s });
      expect(await store.revokeKey(other.id, key.id)).toBeUndefined();
      expect(await store.findLiveKeyByHash(s.hash)).toEqual(key);
      expect(await store.revokeKey(workspace.id, randomUUID())).toBeUndefined();
      expect(await store.revokeKey(workspace.id, 'not-a-uuid')).toBeUndefined();

      const revoked = await store.revokeKey(workspace.id, key.id);
      expect(revoked?.revokedAt).toBeInstanceOf(Date);
      expect(await store.findLiveKeyByHash(s.hash)).toBeUndefined();
      // Revoking again answers the key and keeps the first revocation time.
      expect(await store.revokeKey(workspace.id, key.id)).toEqual(revoked);
      expect(await store.listKeys(workspace.id)).toEqual([revoked]);
    });

    it('of some key ids, answers those that exist and are live', async () => {
      const workspace = await store.createWorkspace({ name: 'live' });
      const live = await store.insertKey({ workspaceId: workspace.id, name: 'live', ...secret() });
      const dead = await store.insertKey({ workspaceId: workspace.id, name: 'dead', ...secret() });
      await store.revokeKey(workspace.id, dead.id);
      expect(await store.liveKeyIds([live.id, dead.id, randomUUID(), 'not-a-uuid'])).toEqual([live.id]);
      expect(await store.liveKeyIds([])).toEqual([]);
    });
  });
}
