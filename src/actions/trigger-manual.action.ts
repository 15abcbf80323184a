import { z } from 'zod';
import { NEXT_PORT } from '../domain/graph.js';
import { defineAction } from './action-definition.js';
import { TRIGGER_PORTS } from './trigger-ports.js';

/** Starts a run on demand (API or editor); its input is whatever the caller passes. */
export const triggerManualAction = defineAction({
  type: 'trigger.manual',
  category: 'trigger',
  displayName: 'Manual trigger',
  description: 'Starts the workflow on demand, with the input given by the caller.',
  config: z.strictObject({}),
  ports: TRIGGER_PORTS,
  start: { kind: 'manual' },
  async run(ctx) {
    return { kind: 'continue', port: NEXT_PORT, output: ctx.context.trigger };
  },
});
