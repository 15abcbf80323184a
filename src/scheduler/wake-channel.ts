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
 * - Notifications are sent one at a time, and those published while one is on its way are merged
 *   into the next (one NOTIFY per query round trip, not one per job).
 * - Deliveries are coalesced: while the worker is filling its queue after one notification, the
 *   next ones wait and are handed over as one. Agenda starts a fill per notification, and fills
 *   running side by side cost a lock query each that finds nothing, and lock jobs past the
 *   limit only to unlock them again.
 */
export class WakeChannel extends BaseNotificationChannel {
  private unsubscribeRemote: (() => void) | undefined;
  private delivering = false;
  /** The most urgent notification that arrived during a delivery. */
  private pending: JobNotification | undefined;
  /** The transport notification on its way, and the one that will follow it. */
  private sending: Promise<void> | undefined;
  private queued: { notification: JobNotification; sent: Promise<void> } | undefined;

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
    this.unsubscribeRemote ??= this.remote.subscribe((notification) => this.deliver(notification));
    await this.remote.connect();
    this.setState('connected');
  }

  /**
   * What Agenda calls when it stops: this process's worker hears of no more jobs. Publishing goes
   * on until {@link WakeChannel.close}, so that a stopping worker's hand-backs still wake the
   * other workers at once.
   */
  async disconnect(): Promise<void> {
    this.handlers.clear();
    this.stateHandlers.clear();
  }

  /** Closes the transport; nothing is published or delivered after it. */
  async close(): Promise<void> {
    await this.disconnect();
    this.unsubscribeRemote?.();
    this.unsubscribeRemote = undefined;
    this.setState('disconnected');
    await this.remote.disconnect();
  }

  async publish(notification: JobNotification): Promise<void> {
    if (this.remote.state === 'connected') {
      await this.publishRemote(notification);
      return;
    }
    // The transport is reconnecting: the job is saved and will be found by polling elsewhere,
    // but this process's own worker can still start it now.
    this.deliver(notification);
  }

  /** Makes this process's worker look for due step jobs now. */
  wake(): void {
    if (this.state !== 'connected') return;
    this.deliver({
      jobId: toJobId('wake'),
      jobName: STEP_JOB_NAME,
      nextRunAt: null,
      priority: 0,
      timestamp: new Date(),
    });
  }

  /**
   * Sends over the transport, one at a time: while one notification is on its way, the jobs saved
   * meanwhile share the single one sent after it (the most urgent of them). Every saved job is
   * still followed by a notification sent after its save, which is all a worker needs to look.
   */
  private publishRemote(notification: JobNotification): Promise<void> {
    if (!this.sending) return this.send(notification);
    if (this.queued) {
      this.queued.notification = moreUrgent(this.queued.notification, notification);
      return this.queued.sent;
    }
    const queued: { notification: JobNotification; sent: Promise<void> } = { notification, sent: Promise.resolve() };
    queued.sent = this.sending
      .catch(() => {})
      .then(() => {
        if (this.queued === queued) this.queued = undefined;
        return this.send(queued.notification);
      });
    this.queued = queued;
    return queued.sent;
  }

  private send(notification: JobNotification): Promise<void> {
    const sending: Promise<void> = this.remote.publish(notification).finally(() => {
      if (this.sending === sending) this.sending = undefined;
    });
    this.sending = sending;
    return sending;
  }

  private deliver(notification: JobNotification): void {
    if (this.delivering) {
      this.pending = moreUrgent(this.pending, notification);
      return;
    }
    this.delivering = true;
    void this.notifyHandlers(notification).finally(() => {
      this.delivering = false;
      const next = this.pending;
      this.pending = undefined;
      if (next && this.state === 'connected') this.deliver(next);
    });
  }
}

/** The notification due first (no run time means now). */
function moreUrgent(a: JobNotification | undefined, b: JobNotification): JobNotification {
  if (!a) return b;
  const at = a.nextRunAt?.getTime() ?? -Infinity;
  const bt = b.nextRunAt?.getTime() ?? -Infinity;
  return bt < at ? b : a;
}
