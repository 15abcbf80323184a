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

/** The op that undoes `op`: inserts and deletes swap, patches swap `before` and `after`. */
export const invertOp = (op: EditOp): EditOp => {
  switch (op.op) {
    case 'insertStep':
      return { op: 'deleteStep', step: op.step };
    case 'deleteStep':
      return { op: 'insertStep', step: op.step };
    case 'patchStep':
      return { op: 'patchStep', id: op.id, before: op.after, after: op.before };
    case 'insertEdge':
      return { op: 'deleteEdge', edge: op.edge };
    case 'deleteEdge':
      return { op: 'insertEdge', edge: op.edge };
    case 'patchWorkflow':
      return { op: 'patchWorkflow', before: op.after, after: op.before };
  }
};

/** The ops that undo `ops` applied in order: each one inverted, last first. */
export const invertOps = (ops: readonly EditOp[]): EditOp[] => {
  const inverted: EditOp[] = [];
  for (let i = ops.length - 1; i >= 0; i--) inverted.push(invertOp(ops[i] as EditOp));
  return inverted;
};
