import type { Logger } from 'pino';
import type { DueStepsChannel } from '../ports/due-steps.port.js';
import { MAX_DUE_STEPS_PER_NOTIFICATION, type EventBus } from '../ports/event-bus.port.js';

/** Due steps announced as `steps-due` notifications on the event bus between processes. */
export function dueStepsOverBus(bus: Pick<EventBus, 'publish' | 'subscribe'>, logger: Logger): DueStepsChannel {
  return {
    announce(stepRunIds) {
      for (let i = 0; i < stepRunIds.length; i += MAX_DUE_STEPS_PER_NOTIFICATION) {
        const chunk = stepRunIds.slice(i, i + MAX_DUE_STEPS_PER_NOTIFICATION);
        bus.publish({ kind: 'steps-due', stepRunIds: chunk }).catch((err: unknown) =>
          // Their jobs still start them.
          logger.warn({ err, steps: chunk.length }, 'could not announce due steps'),
        );
      }
    },
    listen(listener) {
      return bus.subscribe((n) => {
        if (n.kind === 'steps-due') listener(n.stepRunIds);
      });
    },
  };
}
