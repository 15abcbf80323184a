import type { JsonObject } from './json.js';

/** Where a step sits on a canvas; only UIs read it. */
export interface Position {
  readonly x: number;
  readonly y: number;
}

/**
 * One node of a workflow graph. `id` is unique within its workflow (client-chosen or generated),
 * `type` names an entry of the action registry and `config` must match that type's schema.
 */
export interface Step {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly config: JsonObject;
  readonly position: Position;
}

/**
 * A directed edge from one named output port of `from` to the step `to`.
 * Invariant: at most one edge per (`from`, `port`); any number of edges may enter one step.
 */
export interface Edge {
  readonly from: string;
  readonly port: string;
  readonly to: string;
}

/** A whole graph, as validated at publish and stored in an immutable version. */
export interface Graph {
  readonly steps: readonly Step[];
  readonly edges: readonly Edge[];
}

/** The fields of a workflow that editing changes besides its graph. */
export interface WorkflowMeta {
  readonly name: string;
  readonly description: string;
  /**
   * The workflow started whenever an instance of this one fails (null: none). Published with each
   * version; the instances of a version use that version's handler. Absent reads as null.
   */
  readonly failureHandlerWorkflowId?: string | null;
  /**
   * Whether an inbound message that ends a `wait.forMessage` of one of this workflow's instances
   * may also start workflows its channel triggers (by default it starts none in the waiting
   * instance's workspace). Published with each version; a step's own `alsoStartWorkflows` lets
   * it too. Absent reads as false.
   */
  readonly repliesAlsoStartWorkflows?: boolean;
}

/** Step ids: safe in URLs, logs and template paths. */
export const STEP_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** The port every single-successor step uses. */
export const NEXT_PORT = 'next';

/**
 * The optional port every action step (category `action`) has besides its own: when the step's
 * retries are exhausted and this port has an edge, the step ends FAILED but handled, its error is
 * its output, and the run follows this edge instead of failing.
 */
export const ERROR_PORT = 'error';
