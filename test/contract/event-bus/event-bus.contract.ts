import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_DUE_STEPS_PER_NOTIFICATION, type BusNotification, type EventBus } from '../../../src/ports/event-bus.port.js';

/**
 * Two buses that should see each other's notifications, as two processes would (or the same
 * in-process bus twice), and how to close them and free what they hold.
 */
export interface EventBusPair {
  readonly a: EventBus;
  readonly b: EventBus;
  /** Closes both buses; must be fine after the test already closed them. */
  cleanup(): Promise<void>;
}

export type MakeEventBusPair = () => Promise<EventBusPair>;

/** Generous: the suite checks what is delivered and in which order, not how fast. */
const DELIVERY_TIMEOUT_MS = 10_000;
/** close() is bounded by the adapters; this is the most the suite accepts. */
const CLOSE_TIMEOUT_MS = 10_000;

export async function waitUntil(condition: () => boolean, what: string, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A run notification no other test publishes. */
export function runNotification(seq = 1): BusNotification {
  return {
    kind: 'run',
    workspaceId: `ws-${randomUUID()}`,
    workflowId: `wf-${randomUUID()}`,
    instanceId: `in-${randomUUID()}`,
    seq,
    xid: '9223372036854775807',
  };
}

/** A draft notification no other test publishes. */
export function draftNotification(label = 'Renamed step "Send SMS" → «Notify»'): BusNotification {
  return {
    kind: 'draft',
    workspaceId: `ws-${randomUUID()}`,
    workflowId: `wf-${randomUUID()}`,
    draftRevision: 7,
    change: 'UNDO',
    label,
    actorKeyId: `key-${randomUUID()}`,
    at: new Date().toISOString(),
  };
}

/** A key revocation no other test publishes. */
export function keyRevokedNotification(): BusNotification {
  return { kind: 'key-revoked', workspaceId: `ws-${randomUUID()}`, apiKeyId: `key-${randomUUID()}` };
}

/** Steps made due, named by ids no other test publishes. */
export function stepsDueNotification(count = 2): BusNotification {
  return { kind: 'steps-due', stepRunIds: Array.from({ length: count }, () => randomUUID()) };
}

/** What tells the notifications of these tests apart: each names a fresh workflow, key or step. */
const identity = (n: BusNotification): string =>
  'workflowId' in n ? n.workflowId : n.kind === 'key-revoked' ? n.apiKeyId : n.stepRunIds.join(',');

/** Collects what one listener receives. */
export class Received {
  readonly notifications: BusNotification[] = [];
  readonly listener = (notification: BusNotification): void => {
    this.notifications.push(notification);
  };

  has(notification: BusNotification): boolean {
    return this.notifications.some((n) => identity(n) === identity(notification));
  }

  async waitFor(notification: BusNotification): Promise<void> {
    await waitUntil(() => this.has(notification), `${notification.kind} notification for ${identity(notification)}`);
  }

  async waitForCount(count: number): Promise<void> {
    await waitUntil(() => this.notifications.length >= count, `${count} notifications`);
  }
}

/**
 * The behaviour every EventBus adapter must show. For `makePair`, `a` and `b` must already listen
 * when it resolves: a notification published right away must reach both.
 */
export function describeEventBusContract(name: string, makePair: MakeEventBusPair): void {
  describe(`EventBus contract: ${name}`, () => {
    const opened: EventBusPair[] = [];
    const open = async () => {
      const pair = await makePair();
      opened.push(pair);
      return pair;
    };
    afterEach(async () => {
      for (const pair of opened.splice(0).reverse()) await pair.cleanup();
    });

    it('delivers a notification published on one bus to listeners on both, with the same content', async () => {
      const { a, b } = await open();
      const onA = new Received();
      const onB = new Received();
      a.subscribe(onA.listener);
      b.subscribe(onB.listener);
      const sent = runNotification(42);

      await a.publish(sent);
      await onA.waitFor(sent);
      await onB.waitFor(sent);

      expect(onA.notifications).toEqual([sent]);
      expect(onB.notifications).toEqual([sent]);
    });

    it('round-trips the run, draft, key-revoked and steps-due kinds', async () => {
      const { a, b } = await open();
      const onB = new Received();
      b.subscribe(onB.listener);
      const run = runNotification(3);
      const draft = draftNotification();
      const revoked = keyRevokedNotification();
      const due = stepsDueNotification(MAX_DUE_STEPS_PER_NOTIFICATION);

      await a.publish(run);
      await a.publish(draft);
      await a.publish(revoked);
      await a.publish(due);
      await onB.waitForCount(4);

      expect(onB.notifications).toEqual([run, draft, revoked, due]);
    });

    it('delivers several notifications in publish order, awaited one by one or not', async () => {
      const { a, b } = await open();
      const onB = new Received();
      b.subscribe(onB.listener);
      const awaited = Array.from({ length: 10 }, (_, i) => runNotification(i));
      const concurrent = Array.from({ length: 30 }, (_, i) => runNotification(100 + i));

      for (const notification of awaited) await a.publish(notification);
      await Promise.all(concurrent.map((notification) => a.publish(notification)));
      await onB.waitForCount(awaited.length + concurrent.length);

      expect(onB.notifications.map((n) => (n.kind === 'run' ? n.seq : -1))).toEqual(
        [...awaited, ...concurrent].map((n) => (n.kind === 'run' ? n.seq : -1)),
      );
    });

    it('stops delivering to a listener once it unsubscribes', async () => {
      const { a, b } = await open();
      const leaving = new Received();
      const staying = new Received();
      const unsubscribe = b.subscribe(leaving.listener);
      b.subscribe(staying.listener);
      const before = runNotification(1);
      await a.publish(before);
      await leaving.waitFor(before);

      unsubscribe();
      unsubscribe(); // twice is harmless
      const after = runNotification(2);
      const marker = runNotification(3);
      await a.publish(after);
      await a.publish(marker);
      // The marker came after `after`, so `after` would have reached `leaving` by now.
      await staying.waitFor(marker);

      expect(leaving.notifications).toEqual([before]);
      expect(staying.notifications).toEqual([before, after, marker]);
    });

    it('keeps delivering to the other listeners when one throws or rejects', async () => {
      const { a, b } = await open();
      let thrown = 0;
      let rejected = 0;
      a.subscribe(() => {
        thrown += 1;
        throw new Error('listener failed on purpose');
      });
      b.subscribe(async () => {
        rejected += 1;
        throw new Error('async listener failed on purpose');
      });
      const onA = new Received();
      const onB = new Received();
      a.subscribe(onA.listener);
      b.subscribe(onB.listener);
      const first = runNotification(1);
      const second = draftNotification();

      await a.publish(first);
      await b.publish(second);
      await onA.waitForCount(2);
      await onB.waitForCount(2);

      expect(onA.notifications).toEqual([first, second]);
      expect(onB.notifications).toEqual([first, second]);
      expect(thrown).toBe(2);
      await waitUntil(() => rejected === 2, 'the rejecting listener to be called twice');
    });

    it('never calls a listener from inside publish, nor re-enters a listener that publishes', async () => {
      const { a } = await open();
      let insidePublish = false;
      const calledInsidePublish: boolean[] = [];
      let depth = 0;
      let deepest = 0;
      const echo = runNotification(2);
      a.subscribe((notification) => {
        calledInsidePublish.push(insidePublish);
        depth += 1;
        deepest = Math.max(deepest, depth);
        // A listener publishing (as a publisher inside a callback would) must not be re-entered.
        if (notification.kind === 'run' && notification.seq === 1) {
          insidePublish = true;
          void a.publish(echo);
          insidePublish = false;
        }
        depth -= 1;
      });
      const received = new Received();
      a.subscribe(received.listener);

      insidePublish = true;
      const published = a.publish(runNotification(1));
      insidePublish = false;
      await published;
      await received.waitFor(echo);

      expect(calledInsidePublish).toEqual([false, false]);
      expect(deepest).toBe(1);
    });

    it('resolves close(), twice too, and refuses to publish afterwards', async () => {
      const { a, b } = await open();
      const received = new Received();
      b.subscribe(received.listener);

      const closing = Promise.all([a.close(), b.close(), a.close()]);
      const closedInTime = await Promise.race([
        closing.then(() => true),
        sleep(CLOSE_TIMEOUT_MS).then(() => false),
      ]);

      expect(closedInTime).toBe(true);
      await expect(a.publish(runNotification())).rejects.toThrow(/closed/);
      await sleep(50);
      expect(received.notifications).toEqual([]);
    });
  });
}
