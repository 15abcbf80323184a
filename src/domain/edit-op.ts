import type { Edge, Position, Step, WorkflowMeta } from './graph.js';
import type { JsonObject } from './json.js';

/** The mutable fields of a step that a patch may change. */
export interface StepFields {
  readonly name?: string;
  readonly config?: JsonObject;
  readonly position?: Position;
}

/**
 * A primitive change to a draft, carrying everything needed to invert it. A history entry stores
 * the forward ops and their inverse; storage applies them row by row, so an edit touches only the
 * rows it changes.
 */
export type EditOp =
  | { readonly op: 'insertStep'; readonly step: Step }
  | { readonly op: 'deleteStep'; readonly step: Step }
  | { readonly op: 'patchStep'; readonly id: string; readonly before: StepFields; readonly after: StepFields }
  | { readonly op: 'insertEdge'; readonly edge: Edge }
  | { readonly op: 'deleteEdge'; readonly edge: Edge }
  | {
      readonly op: 'patchWorkflow';
      readonly before: Partial<WorkflowMeta>;
      readonly after: Partial<WorkflowMeta>;
    };
