import { describe, expect, it } from 'vitest';
import { InProcessEventBus } from '../../../src/realtime/in-process-event-bus.js';
import { capturingLogger } from './capturing-logger.js';
import { describeDueStepsContract } from './due-steps.contract.js';
import { describeEventBusContract, Received, runNotification, waitUntil } from './event-bus.contract.js';

const inProcessPair = async () => {
  const bus = new InProcessEventBus({ logger: capturingLogger().logger });
  return { a: bus, b: bus, cleanup: () => bus.close() };
};
describeEventBusContract('InProcessEventBus (one bus seen from both sides)', inProcessPair);
describeDueStepsContract('over InProcessEventBus', inProcessPair);

describe('InProcessEventBus', () => {
  it('logs a failing listener with the notification it failed on', async () => {
    const { logger, lines } = capturingLogger();
    const bus = new InProcessEventBus({ logger });
    try {
      bus.subscribe(() => {
        throw new Error('listener failed on purpose');
      });
      const received = new Received();
      bus.subscribe(received.listener);
      const sent = runNotification();

      await bus.publish(sent);
      await received.waitFor(sent);

      await waitUntil(() => lines.length > 0, 'a log line');
      expect(lines[0]).toMatchObject({
        level: 50,
        kind: 'run',
        workflowId: sent.kind === 'run' ? sent.workflowId : undefined,
        err: { message: 'listener failed on purpose' },
      });
    } finally {
      await bus.close();
    }
  });

  it('skips a listener that unsubscribes after a publish but before its delivery', async () => {
    const bus = new InProcessEventBus();
    try {
      const leaving = new Received();
      const staying = new Received();
      const unsubscribe = bus.subscribe(leaving.listener);
      bus.subscribe(staying.listener);
      const sent = runNotification();

      const published = bus.publish(sent);
      unsubscribe();
      await published;
      await staying.waitFor(sent);

      expect(leaving.notifications).toEqual([]);
    } finally {
      await bus.close();
    }
  });

  it('works without a logger', async () => {
    const bus = new InProcessEventBus();
    try {
      bus.subscribe(() => {
        throw new Error('nobody hears this');
      });
      const received = new Received();
      bus.subscribe(received.listener);
      const sent = runNotification();
      await bus.publish(sent);
      await received.waitFor(sent);
    } finally {
      await bus.close();
    }
  });
});
