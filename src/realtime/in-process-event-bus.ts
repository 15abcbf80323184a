import type { Logger } from 'pino';
import type { BusNotification, EventBus } from '../ports/event-bus.port.js';
import type { PortFailure } from '../ports/port-failure.js';

/** Why an event bus refused a publish. */
export const EventBusFailureCode = {
  /** `close()` was called on the bus. */
  BUS_CLOSED: 'BUS_CLOSED',
  /** The notification does not fit the transport (Postgres NOTIFY payload limit). */
  NOTIFICATION_TOO_LARGE: 'NOTIFICATION_TOO_LARGE',
  /** The notification does not match the port's shape, so no subscriber could read it. */
  INVALID_NOTIFICATION: 'INVALID_NOTIFICATION',
} as const;
export type EventBusFailureCode = (typeof EventBusFailureCode)[keyof typeof EventBusFailureCode];

/** What the event bus adapters reject `publish` with when trying again cannot help. */
export class EventBusFailure extends Error implements PortFailure {
  readonly retryable = false;

  constructor(
    readonly code: EventBusFailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'EventBusFailure';
  }
}

export type BusListener = (notification: BusNotification) => void;

export interface InProcessEventBusOptions {
  /** Where a throwing listener is reported. Without one, listener errors are dropped silently. */
  readonly logger?: Logger;
}

interface Subscription {
  readonly listener: BusListener;
  /** Cleared by unsubscribe, so a delivery already queued skips this listener too. */
  active: boolean;
}

interface PendingDelivery {
  readonly notification: BusNotification;
  /** The listeners subscribed when it was published. */
  readonly targets: readonly Subscription[];
}

/**
 * An {@link EventBus} for a single process (the embedded setup), and the local fan-out of the
 * cross-process bus.
 *
 * - `publish` never calls a listener before it returns: deliveries run on a later turn of the event
 *   loop (`setImmediate`), so a publisher (say, inside a transaction callback) is never re-entered
 *   by its own subscribers.
 * - Notifications reach each listener in publish order.
 * - A listener that throws (or returns a rejected promise) is logged and skipped; the others still
 *   get the notification.
 * - After `close()`, nothing more is delivered and `publish` rejects with `BUS_CLOSED`.
 */
export class InProcessEventBus implements EventBus {
  private readonly logger: Logger | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private pending: PendingDelivery[] = [];
  private drainScheduled = false;
  private closed = false;

  constructor(options: InProcessEventBusOptions = {}) {
    this.logger = options.logger;
  }

  async publish(notification: BusNotification): Promise<void> {
    if (this.closed) throw new EventBusFailure(EventBusFailureCode.BUS_CLOSED, 'the event bus is closed');
    this.pending.push({ notification, targets: [...this.subscriptions] });
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  subscribe(listener: BusListener): () => void {
    const subscription: Subscription = { listener, active: !this.closed };
    if (subscription.active) this.subscriptions.add(subscription);
    return () => {
      subscription.active = false;
      this.subscriptions.delete(subscription);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const subscription of this.subscriptions) subscription.active = false;
    this.subscriptions.clear();
    this.pending = [];
  }

  private drain(): void {
    // Take the current batch only: what listeners publish now goes to the next turn, so a
    // listener that publishes cannot starve the event loop.
    const batch = this.pending;
    this.pending = [];
    this.drainScheduled = false;
    for (const { notification, targets } of batch) {
      for (const subscription of targets) {
        if (subscription.active) this.deliver(subscription.listener, notification);
      }
    }
  }

  private deliver(listener: BusListener, notification: BusNotification): void {
    try {
      // Typed as void, but an async function fits the type too; its rejection must not go unhandled.
      const result: unknown = listener(notification);
      if (result instanceof Promise) result.catch((err: unknown) => this.reportListenerError(err, notification));
    } catch (err) {
      this.reportListenerError(err, notification);
    }
  }

  private reportListenerError(err: unknown, notification: BusNotification): void {
    this.logger?.error(
      { err, kind: notification.kind, ...('workflowId' in notification ? { workflowId: notification.workflowId } : {}) },
      'event bus listener failed; the other listeners still got the notification',
    );
  }
}
