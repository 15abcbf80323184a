import type { WorkflowCursor } from '../domain/workflow-cursor.js';
import type { BusNotification } from './event-bus.port.js';
import type { InstanceEventRecord } from './run-records.js';

/** A change of a workflow's draft, as its subscribers receive it. */
export type DraftNotification = Extract<BusNotification, { kind: 'draft' }>;

/** What a workflow-event subscriber receives: the event and the cursor to resume after it. */
export interface WorkflowEventPayload {
  readonly event: InstanceEventRecord;
  readonly cursor: string;
}

/** Events of one horizon batch for a subscriber, and the cursor to resume after the last of them. */
export interface WorkflowEventBatchPayload {
  readonly events: readonly WorkflowEventPayload[];
  readonly cursor: string;
}

/**
 * Live streams over the event log, as GraphQL subscriptions read them (the realtime service
 * implements it). Every stream has no gaps and no duplicates, also across a reconnect from a
 * cursor; a subscriber that falls too far behind is ended with LIMIT_EXCEEDED. The caller has
 * checked that the instance or workflow belongs to the subscriber's workspace.
 */
export interface LiveStreams {
  /**
   * Events of one instance after `afterSeq`, then live. The stream ends (done) once it has
   * delivered everything in the log and the newest event is the instance reaching COMPLETED,
   * FAILED or CANCELLED, also when that happened before the call (then at once, after any events
   * past `afterSeq`). A FAILED instance that is retried afterwards goes on in the log: a new stream
   * with `afterSeq` at the failure reads on.
   */
  instanceEvents(instanceId: string, afterSeq: number): AsyncIterableIterator<InstanceEventRecord>;
  /** Every event of a workflow's instances after `since` (from now on without it), then live. */
  workflowEvents(workspaceId: string, workflowId: string, since?: WorkflowCursor): AsyncIterableIterator<WorkflowEventPayload>;
  /** The same events, one item per horizon batch. */
  workflowEventBatches(workspaceId: string, workflowId: string, since?: WorkflowCursor): AsyncIterableIterator<WorkflowEventBatchPayload>;
  /** Changes of a workflow's draft from now on; ends after its DELETE (the workflow was deleted). */
  draftChanges(workspaceId: string, workflowId: string): AsyncIterableIterator<DraftNotification>;
}
