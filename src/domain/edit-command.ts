import type { Position } from './graph.js';
import type { JsonObject } from './json.js';

/** Where a new step is inserted: after this step's port, taking over the edge that was there. */
export interface InsertionPoint {
  readonly stepId: string;
  readonly port: string;
}

/**
 * An edit as a user asks for it. Compiled against the current draft into primitive `EditOp`s;
 * `applyEdits` compiles a list of them in order, each seeing the effect of the ones before.
 */
export type EditCommand =
  | {
      readonly kind: 'addStep';
      /** Client-chosen id (so later commands of a batch can refer to it); generated when absent. */
      readonly id?: string;
      readonly type: string;
      readonly name: string;
      readonly config: JsonObject;
      readonly position?: Position;
      readonly after?: InsertionPoint;
    }
  | { readonly kind: 'updateStep'; readonly stepId: string; readonly name?: string; readonly config?: JsonObject }
  | { readonly kind: 'moveStep'; readonly stepId: string; readonly position: Position }
  | { readonly kind: 'removeStep'; readonly stepId: string; readonly reconnect?: boolean }
  | { readonly kind: 'connectSteps'; readonly from: string; readonly port: string; readonly to: string }
  | { readonly kind: 'disconnectSteps'; readonly from: string; readonly port: string }
  | {
      readonly kind: 'updateWorkflow';
      readonly name?: string;
      readonly description?: string;
      /** The workflow to start when an instance fails; null removes it. */
      readonly failureHandlerWorkflowId?: string | null;
      /** Whether a reply that ends one of its instances' waits also starts workflows (see WorkflowMeta). */
      readonly repliesAlsoStartWorkflows?: boolean;
    };

export type EditCommandKind = EditCommand['kind'];
