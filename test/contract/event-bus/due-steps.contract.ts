import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DueStepsChannel } from '../../../src/ports/due-steps.port.js';
import { MAX_DUE_STEPS_PER_NOTIFICATION } from '../../../src/ports/event-bus.port.js';
import { dueStepsOverBus } from '../../../src/realtime/due-steps-over-bus.js';
import { capturingLogger } from './capturing-logger.js';
import { Received, waitUntil, type MakeEventBusPair } from './event-bus.contract.js';

/**
 * The DueStepsChannel port over an event bus pair: what one side announces, the other hears, in
 * notifications small enough for the bus, and nothing else it carries.
 */
export function describeDueStepsContract(name: string, makePair: MakeEventBusPair): void {
  describe(`DueStepsChannel contract: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    const open = async (): Promise<{ a: DueStepsChannel; b: DueStepsChannel; busB: Parameters<typeof dueStepsOverBus>[0] }> => {
      const pair = await makePair();
      cleanups.push(() => pair.cleanup());
      const { logger } = capturingLogger();
      return { a: dueStepsOverBus(pair.a, logger), b: dueStepsOverBus(pair.b, logger), busB: pair.b };
    };
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    it('makes the ids announced on one side heard on both, in order', async () => {
      const { a, b } = await open();
      const onA: string[] = [];
      const onB: string[] = [];
      a.listen((ids) => onA.push(...ids));
      b.listen((ids) => onB.push(...ids));
      const first = [randomUUID(), randomUUID()];
      const second = [randomUUID()];

      a.announce(first);
      a.announce(second);
      await waitUntil(() => onA.length === 3 && onB.length === 3, 'both sides to hear three ids');

      expect(onB).toEqual([...first, ...second]);
      expect(onA).toEqual([...first, ...second]);
    });

    it('splits a long announcement into notifications the bus can carry, losing no id', async () => {
      const { a, b, busB } = await open();
      const heard: string[] = [];
      b.listen((ids) => heard.push(...ids));
      const raw = new Received();
      busB.subscribe(raw.listener);
      const ids = Array.from({ length: MAX_DUE_STEPS_PER_NOTIFICATION * 2 + 5 }, () => randomUUID());

      a.announce(ids);
      await waitUntil(() => heard.length === ids.length, 'every id');

      expect(heard).toEqual(ids);
      expect(raw.notifications.map((n) => (n.kind === 'steps-due' ? n.stepRunIds.length : 0))).toEqual([
        MAX_DUE_STEPS_PER_NOTIFICATION,
        MAX_DUE_STEPS_PER_NOTIFICATION,
        5,
      ]);
    });

    it('hears nothing after unsubscribing, and announces nothing for no ids', async () => {
      const { a, b, busB } = await open();
      const left: string[] = [];
      const stayed: string[] = [];
      const raw = new Received();
      busB.subscribe(raw.listener);
      const stop = b.listen((ids) => left.push(...ids));
      b.listen((ids) => stayed.push(...ids));

      stop();
      a.announce([]);
      const id = randomUUID();
      a.announce([id]);
      await waitUntil(() => stayed.length === 1, 'the staying listener');

      expect(left).toEqual([]);
      expect(stayed).toEqual([id]);
      // The empty announcement sent nothing: the only notification is the one with the id.
      expect(raw.notifications).toEqual([{ kind: 'steps-due', stepRunIds: [id] }]);
    });

    it('is not called for the other kinds of notification on the bus', async () => {
      const { a, b, busB } = await open();
      const heard: (readonly string[])[] = [];
      b.listen((ids) => heard.push(ids));
      const raw = new Received();
      busB.subscribe(raw.listener);
      const id = randomUUID();

      await busB.publish({ kind: 'key-revoked', workspaceId: `ws-${randomUUID()}`, apiKeyId: `key-${randomUUID()}` });
      a.announce([id]);
      await waitUntil(() => raw.notifications.length === 2, 'both notifications');

      expect(heard).toEqual([[id]]);
    });
  });
}
