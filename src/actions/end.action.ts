import { z } from 'zod';
import { defineAction } from './action-definition.js';

/** Ends the path it is on. */
export const endAction = defineAction({
  type: 'end',
  category: 'logic',
  displayName: 'End',
  description: 'Ends this path of the workflow.',
  config: z.strictObject({}),
  ports: [],
  async run() {
    return { kind: 'complete', output: {} };
  },
});
