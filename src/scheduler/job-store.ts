import type { JobRepository, NotificationChannel } from 'agenda';

/** An Agenda backend, connected and with the step job's indexes in place. */
export interface JobStore {
  /** For logs and Agenda's status ("PostgreSQL", "MongoDB"). */
  readonly name: string;
  readonly repository: JobRepository;
  /** Cross-process job notifications, when this store offers them and they were asked for. */
  readonly remoteChannel: NotificationChannel | undefined;
  /**
   * True when a save lost a race with a concurrent save of the same step run (a unique-index
   * violation, or the row vanishing between the backend's select and update): retrying it is safe.
   */
  isUpsertRace(error: unknown): boolean;
  /**
   * Deletes the job row `id` if `owner` (an Agenda instance name) wrote it last, i.e. nobody else
   * enqueued it again while it ran; true when it deleted it. One statement, where looking first
   * and deleting after are two.
   */
  removeIfNotRescheduled(id: string, owner: string): Promise<boolean>;
  /** Closes the store's connections. */
  close(): Promise<void>;
}

export function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}
