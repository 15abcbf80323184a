import { NEXT_PORT } from '../domain/graph.js';
import type { PortSpec } from '../domain/step-type-catalog.js';

/** Every trigger has exactly one required way out. */
export const TRIGGER_PORTS: readonly PortSpec[] = [{ name: NEXT_PORT, required: true }];
