import { BaseNotificationChannel, toJobId, type JobNotification, type NotificationChannel } from 'agenda';
import { STEP_JOB_NAME } from './step-job.js';

/**
 * The notification channel Agenda is given. It forwards job notifications from a transport
 * (`remote`: Postgres LISTEN/NOTIFY or Agenda's in-memory channel) and adds `wake()`, which nudges
 * this process's job processor without a round trip.
 *
 * Why a wrapper instead of handing Agenda the transport directly:
 * - Agenda refills its local queue only on a poll or a notification, so a worker that runs at its
 *   lock limit would otherwise idle until the next poll; `wake()` after each completed job refills it.
 * - It has no `publishState`, so Agenda skips its per-job start/success/complete state
 *   notifications (three NOTIFYs per job that nothing here listens to).
 * - Local dispatch is not awaited by `publish()`, so `enqueue()` does not wait for the worker to
 *   lock the job.
 */
export class WakeChannel extends BaseNotificationChannel {
  private unsubscribeRemote: (() => void) | undefined;

  constructor(
    private readonly remote: NotificationChannel,
    private readonly onError: (error: Error) => void,
  ) {
    super();
    // An EventEmitter 'error' without a listener throws; Agenda attaches none to its channel.
    remote.on('error', onError);
    this.on('error', onError);
  }

  async connect(): Promise<void> {
    this.unsubscribeRemote ??= this.remote.subscribe((notification) => {
      void this.notifyHandlers(notification);
    });
    await this.remote.connect();
    this.setState('connected');
  }

  async disconnect(): Promise<void> {
    this.unsubscribeRemote?.();
    this.unsubscribeRemote = undefined;
    this.handlers.clear();
    this.stateHandlers.clear();
    this.setState('disconnected');
    await this.remote.disconnect();
  }

  async publish(notification: JobNotification): Promise<void> {
    if (this.remote.state === 'connected') {
      await this.remote.publish(notification);
      return;
    }
    // The transport is reconnecting: the job is saved and will be found by polling elsewhere,
    // but this process's own worker can still start it now.
    void this.notifyHandlers(notification);
  }

  /** Makes this process's worker look for due step jobs now. */
  wake(): void {
    if (this.state !== 'connected') return;
    void this.notifyHandlers({
      jobId: toJobId('wake'),
      jobName: STEP_JOB_NAME,
      nextRunAt: null,
      priority: 0,
      timestamp: new Date(),
    });
  }
}
