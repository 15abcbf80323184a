import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newInstance, type MakeRunStores, type RunStores } from './run-store-harness.js';

/** What every RunFeedStore must do: events in cursor order between positions, final below the horizon. */
export function describeRunFeedContract(name: string, make: MakeRunStores): void {
  describe(`RunFeedStore contract: ${name}`, () => {
    let stores: RunStores & { close(): Promise<void> };
    beforeAll(async () => {
      stores = await make();
    });
    afterAll(async () => {
      await stores?.close();
    });

    it('reads the horizon and the events below it in one go, with or without events, in cursor order', async () => {
      const scope = await stores.newScope();
      const { feed } = stores;
      const empty = await feed.workflowEventsToHorizon({ ...scope, fromPosition: 0n, limit: 10 });
      expect(empty.events).toEqual([]);
      expect(empty.horizon).toBeLessThanOrEqual(await feed.horizon());

      const a = await newInstance(stores.commands, scope);
      const b = await newInstance(stores.commands, scope);
      // Other writers on a shared store may hold the horizon back for a moment.
      const all = await eventually(
        () => feed.workflowEventsToHorizon({ ...scope, fromPosition: empty.horizon, limit: 10 }),
        (r) => r.events.length >= 4,
        'four events below the horizon',
      );
      expect(all.horizon).toBeGreaterThan(empty.horizon);
      expect(all.events.map((e) => [e.instanceId, e.seq])).toEqual([
        [a.instance.id, 1],
        [a.instance.id, 2],
        [b.instance.id, 1],
        [b.instance.id, 2],
      ]);
      const cursors = all.events.map((e) => e.cursor);
      expect(cursors).toEqual([...cursors].sort((x, y) => x - y));
      expect(all.events.every((e) => BigInt(e.xid) >= empty.horizon && BigInt(e.xid) < all.horizon)).toBe(true);
      expect(await feed.workflowEvents({ ...scope, fromPosition: empty.horizon, toPosition: all.horizon, afterCursor: 0, limit: 10 })).toEqual(all.events);
      expect(await feed.workflowEvents({ ...scope, fromPosition: empty.horizon, toPosition: all.horizon, afterCursor: cursors[1]!, limit: 10 })).toEqual(all.events.slice(2));
      expect((await feed.workflowEventsToHorizon({ ...scope, fromPosition: empty.horizon, limit: 3 })).events).toEqual(all.events.slice(0, 3));
      expect((await feed.workflowEventsToHorizon({ ...scope, fromPosition: all.horizon, limit: 10 })).events).toEqual([]);
    });

    it('another workspace, or an id that is not one, sees nothing', async () => {
      const scope = await stores.newScope();
      await newInstance(stores.commands, scope);
      const other = await stores.newScope();
      expect((await stores.feed.workflowEventsToHorizon({ workspaceId: other.workspaceId, workflowId: scope.workflowId, fromPosition: 0n, limit: 10 })).events).toEqual([]);
      expect(await stores.feed.workflowEvents({ workspaceId: scope.workspaceId, workflowId: 'nope', fromPosition: 0n, toPosition: 2n ** 62n, afterCursor: 0, limit: 10 })).toEqual([]);
    });
  });
}
