import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredToken, WebhookStore } from '../../../src/ports/webhook.store.port.js';
import type { MakeStore, StoreUnderTest } from './store-harness.js';

const token = (): StoredToken => ({ tokenHash: randomBytes(32).toString('hex'), prefix: `whk_${randomBytes(3).toString('hex')}` });

/**
 * What every WebhookStore must do: one webhook per workflow, nothing found or changed from another
 * workspace, a rotated token dead at once, never the token or the secret in a record.
 */
export function describeWebhookStoreContract(name: string, make: MakeStore<WebhookStore>): void {
  describe(`WebhookStore contract: ${name}`, () => {
    let under: StoreUnderTest<WebhookStore>;
    let store: WebhookStore;
    beforeAll(async () => {
      under = await make();
      store = under.store;
    });
    afterAll(async () => {
      await under?.close();
    });

    it('creates one webhook per workflow; the record shows neither token nor secret', async () => {
      const { workspaceId, workflowId } = await under.newScope();
      const first = token();
      const record = await store.insert({ workspaceId, workflowId, token: first, signingSecret: 'shh' });
      expect(record).toMatchObject({ workspaceId, workflowId, prefix: first.prefix, signingEnabled: true, rotatedAt: null });
      expect(record!.createdAt).toBeInstanceOf(Date);
      expect(Object.keys(record!)).not.toContain('signingSecret');
      expect(JSON.stringify(record)).not.toContain(first.tokenHash);
      expect(await store.insert({ workspaceId, workflowId, token: token(), signingSecret: null })).toBeUndefined();
      expect(await store.get(workspaceId, workflowId)).toEqual(record);
    });

    it('finds nothing, and changes nothing, from another workspace or for an unknown workflow', async () => {
      const { workspaceId, workflowId } = await under.newScope();
      const other = await under.newScope();
      const live = token();
      const record = await store.insert({ workspaceId, workflowId, token: live, signingSecret: null });
      expect(await store.get(other.workspaceId, workflowId)).toBeUndefined();
      expect(await store.rotateToken(other.workspaceId, workflowId, token())).toBeUndefined();
      expect(await store.setSigningSecret(other.workspaceId, workflowId, 'mine now')).toBeUndefined();
      expect(await store.delete(other.workspaceId, workflowId)).toBe(false);
      expect(await store.get(workspaceId, workflowId)).toEqual(record);
      expect(await store.findByTokenHash(live.tokenHash)).toMatchObject({ workflowId, signingSecret: null });
      for (const id of [randomUUID(), 'not-a-uuid']) {
        expect(await store.get(workspaceId, id)).toBeUndefined();
        expect(await store.rotateToken(workspaceId, id, token())).toBeUndefined();
        expect(await store.setSigningSecret(workspaceId, id, 'x')).toBeUndefined();
        expect(await store.delete(workspaceId, id)).toBe(false);
      }
    });

    it('a rotated token replaces the old one at once', async () => {
      const { workspaceId, workflowId } = await under.newScope();
      const old = token();
      await store.insert({ workspaceId, workflowId, token: old, signingSecret: null });
      const next = token();
      const rotated = await store.rotateToken(workspaceId, workflowId, next);
      expect(rotated).toMatchObject({ prefix: next.prefix });
      expect(rotated!.rotatedAt).toBeInstanceOf(Date);
      expect(await store.findByTokenHash(old.tokenHash)).toBeUndefined();
      expect(await store.findByTokenHash(next.tokenHash)).toMatchObject({ workspaceId, workflowId, prefix: next.prefix });
    });

    it('sets and removes the signing secret; the credentials carry it', async () => {
      const { workspaceId, workflowId } = await under.newScope();
      const live = token();
      await store.insert({ workspaceId, workflowId, token: live, signingSecret: null });
      expect(await store.setSigningSecret(workspaceId, workflowId, 'sekrit')).toMatchObject({ signingEnabled: true });
      expect(await store.findByTokenHash(live.tokenHash)).toMatchObject({ signingEnabled: true, signingSecret: 'sekrit' });
      expect(await store.setSigningSecret(workspaceId, workflowId, null)).toMatchObject({ signingEnabled: false });
      expect(await store.findByTokenHash(live.tokenHash)).toMatchObject({ signingEnabled: false, signingSecret: null });
    });

    it('deletes a webhook once; its token stops working and the workflow may have a new one', async () => {
      const { workspaceId, workflowId } = await under.newScope();
      const live = token();
      await store.insert({ workspaceId, workflowId, token: live, signingSecret: null });
      expect(await store.delete(workspaceId, workflowId)).toBe(true);
      expect(await store.delete(workspaceId, workflowId)).toBe(false);
      expect(await store.get(workspaceId, workflowId)).toBeUndefined();
      expect(await store.findByTokenHash(live.tokenHash)).toBeUndefined();
      expect(await store.insert({ workspaceId, workflowId, token: token(), signingSecret: null })).toBeDefined();
    });
  });
}
