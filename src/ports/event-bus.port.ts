/**
 * Small notifications that something committed; subscribers load the details from Postgres.
 * Payloads carry ids and sequence numbers only, so they fit Postgres NOTIFY (< 8000 bytes).
 */
export type BusNotification =
  | {
      readonly kind: 'run';
      readonly workspaceId: string;
      readonly workflowId: string;
      readonly instanceId: string;
      /** The newest event seq the commit wrote for the instance. */
      readonly seq: number;
      /** The committing transaction's id (xid8 as a decimal string). */
      readonly xid: string;
    }
  | {
      readonly kind: 'draft';
      readonly workspaceId: string;
      readonly workflowId: string;
      readonly draftRevision: number;
      readonly change: 'EDIT' | 'UNDO' | 'REDO' | 'PUBLISH' | 'ARCHIVE' | 'DELETE';
      readonly label: string;
      readonly actorKeyId: string;
      /** ISO time of the change. */
      readonly at: string;
    }
  | {
      /** An API key was revoked: every process closes the sockets it authenticated. */
      readonly kind: 'key-revoked';
      readonly workspaceId: string;
      readonly apiKeyId: string;
    }
  | {
      /**
       * Steps a commit made due now while their jobs are still on their way to the scheduler (woken
       * waits): a worker with a free lane may start them ahead of their jobs. At most
       * {@link MAX_DUE_STEPS_PER_NOTIFICATION} ids.
       */
      readonly kind: 'steps-due';
      readonly stepRunIds: readonly string[];
    };

/** Step run ids one `steps-due` notification carries: about 4 KB, within NOTIFY's 8000 bytes. */
export const MAX_DUE_STEPS_PER_NOTIFICATION = 100;

/**
 * Fans committed-change notifications out to every process. Publish only after the transaction
 * commits. Delivery is at-most-once and best-effort: subscribers must read the source of truth
 * (the event log) to fill any gap, using the sequence numbers the notifications carry.
 */
export interface EventBus {
  publish(notification: BusNotification): Promise<void>;
  /** Calls `listener` for every notification published by any process (this one included). */
  subscribe(listener: (notification: BusNotification) => void): () => void;
  close(): Promise<void>;
}
