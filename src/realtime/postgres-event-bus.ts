import postgres from 'postgres';
import type { Logger } from 'pino';
import type { BusNotification, EventBus } from '../ports/event-bus.port.js';
import { parseBusNotification, parseBusNotificationPayload } from './event-bus-notification.schema.js';
import { EventBusFailure, EventBusFailureCode, InProcessEventBus, type BusListener } from './in-process-event-bus.js';

/** Postgres refuses a NOTIFY payload of this many bytes or more (default build). */
export const MAX_NOTIFY_PAYLOAD_BYTES = 8000;

export const POSTGRES_EVENT_BUS_DEFAULTS = {
  channel: 'wfb_events',
  applicationName: 'wfb-event-bus',
  closeTimeoutMs: 5_000,
} as const;

export interface PostgresEventBusOptions {
  /** The app's real Postgres (the embedded database cannot deliver NOTIFY between connections). */
  readonly url: string;
  /**
   * The LISTEN/NOTIFY channel every process of one deployment shares. A lower-case SQL identifier,
   * since LISTEN folds unquoted names and pg_notify does not.
   */
  readonly channel?: string;
  readonly logger: Logger;
  /** Shown in `pg_stat_activity.application_name` for both of the bus's connections. */
  readonly applicationName?: string;
  /** How long `close()` may take before the connections are cut. */
  readonly closeTimeoutMs?: number;
}

const CHANNEL_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
/** How much of a refused payload goes into the log. */
const LOGGED_PAYLOAD_CHARS = 200;

/**
 * An {@link EventBus} across processes over Postgres LISTEN/NOTIFY.
 *
 * `start()` opens a dedicated listening connection; `publish` sends `pg_notify` on a separate pool
 * of at most two connections. The publishing process hears its own notifications through its
 * listening connection, like every other process, so each listener gets each notification once.
 *
 * After a dropped connection, postgres.js reconnects with backoff and LISTENs again by itself, but
 * **notifications sent while it was disconnected are lost**: subscribers must fill gaps from the
 * event log, using the sequence numbers the notifications carry. A re-listen is logged as a warning.
 *
 * Incoming payloads are parsed with `busNotificationSchema`; anything malformed is logged
 * and dropped. Delivery to listeners follows {@link InProcessEventBus}: never synchronous, in
 * order, a throwing listener is isolated.
 */
export class PostgresEventBus implements EventBus {
  readonly channel: string;
  private readonly logger: Logger;
  private readonly closeTimeoutMs: number;
  /** Pool for pg_notify; `sql.listen` opens its own dedicated connection beside it. */
  private readonly sql: postgres.Sql;
  private readonly local: InProcessEventBus;
  private starting: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private closing: Promise<void> | undefined;
  /** Publishes go out one at a time, so that NOTIFY commit order (delivery order) is call order. */
  private publishTail: Promise<unknown> = Promise.resolve();
  /** Notifications waiting for the NOTIFY statement after the one in flight. */
  private pending: PendingBatch | undefined;

  constructor(options: PostgresEventBusOptions) {
    this.channel = options.channel ?? POSTGRES_EVENT_BUS_DEFAULTS.channel;
    if (!CHANNEL_PATTERN.test(this.channel)) {
      throw new Error(`event bus channel '${this.channel}' must be a lower-case SQL identifier of at most 63 characters`);
    }
    this.closeTimeoutMs = options.closeTimeoutMs ?? POSTGRES_EVENT_BUS_DEFAULTS.closeTimeoutMs;
    this.logger = options.logger.child({ channel: this.channel });
    this.local = new InProcessEventBus({ logger: this.logger });
    this.sql = postgres(options.url, {
      max: 2,
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: options.applicationName ?? POSTGRES_EVENT_BUS_DEFAULTS.applicationName },
    });
  }

  /** Makes a bus and waits until it listens. */
  static async create(options: PostgresEventBusOptions): Promise<PostgresEventBus> {
    const bus = new PostgresEventBus(options);
    try {
      await bus.start();
    } catch (err) {
      await bus.close();
      throw err;
    }
    return bus;
  }

  /**
   * Opens the listening connection; resolves once LISTEN is in place, so notifications committed
   * afterwards are delivered. Calling it again returns the same promise. If it rejects, close this
   * bus and make a new one.
   */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(this.closedError());
    return (this.starting ??= this.listen());
  }

  async publish(notification: BusNotification): Promise<void> {
    if (this.closing) throw this.closedError();
    const payload = encode(notification);
    // One NOTIFY statement at a time, carrying every notification published while the previous
    // one was on its way (in publish order): under load a round trip per notification queues up.
    if (!this.pending) {
      const batch: PendingBatch = { payloads: [], sent: Promise.resolve() };
      batch.sent = this.publishTail.then(() => {
        if (this.pending === batch) this.pending = undefined;
        const payloads = JSON.stringify(batch.payloads);
        return this.sql`select pg_notify(${this.channel}, p) from jsonb_array_elements_text((${payloads}::text)::jsonb) with ordinality as t (p, n) order by n`;
      });
      this.publishTail = batch.sent.catch(() => undefined);
      this.pending = batch;
    }
    const batch = this.pending;
    batch.payloads.push(payload);
    await batch.sent;
  }

  /** Listeners subscribed before `start()` resolves get what arrives from then on. */
  subscribe(listener: BusListener): () => void {
    return this.local.subscribe(listener);
  }

  /** Stops delivery, UNLISTENs and ends both connections; never takes much longer than `closeTimeoutMs`. */
  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async listen(): Promise<void> {
    let listens = 0;
    const meta = await this.sql.listen(
      this.channel,
      (payload) => this.receive(payload),
      () => {
        listens += 1;
        if (listens > 1) {
          this.logger.warn('event bus listening again after a lost connection; notifications sent meanwhile are lost');
        }
      },
    );
    this.unlisten = () => meta.unlisten();
  }

  /** Called by the driver while it reads the socket: it must never throw. */
  private receive(payload: string): void {
    if (this.closing) return;
    const parsed = parseBusNotificationPayload(payload);
    if (!parsed.ok) {
      this.logger.warn(
        { reason: parsed.reason, payload: payload.slice(0, LOGGED_PAYLOAD_CHARS) },
        'dropped a malformed event bus notification',
      );
      return;
    }
    this.local.publish(parsed.notification).catch((err: unknown) => {
      this.logger.error({ err }, 'event bus could not hand a notification to its listeners');
    });
  }

  private async shutdown(): Promise<void> {
    const deadline = Date.now() + this.closeTimeoutMs;
    await this.local.close();
    if (this.unlisten) {
      const unlisten = this.unlisten();
      const outcome = await settleWithin(unlisten, this.closeTimeoutMs / 2);
      if (outcome !== 'settled') this.logger.debug({ outcome }, 'event bus UNLISTEN did not finish; ending anyway');
    }
    // postgres.js takes seconds; past it, connections are cut, the listening one included.
    await this.sql.end({ timeout: Math.max(0, deadline - Date.now()) / 1000 });
  }

  private closedError(): EventBusFailure {
    return new EventBusFailure(EventBusFailureCode.BUS_CLOSED, 'the event bus is closed');
  }
}

/** Notifications that will go out together in one statement. */
interface PendingBatch {
  readonly payloads: string[];
  sent: Promise<unknown>;
}

/** The JSON text of a notification, refused when it is not one or does not fit NOTIFY. */
function encode(notification: BusNotification): string {
  // Checked here too: a bad notification would otherwise be dropped by every receiver, silently for the publisher.
  const checked = parseBusNotification(notification);
  if (!checked.ok) {
    throw new EventBusFailure(EventBusFailureCode.INVALID_NOTIFICATION, `invalid bus notification: ${checked.reason}`);
  }
  const payload = JSON.stringify(checked.notification);
  const bytes = Buffer.byteLength(payload, 'utf8');
  if (bytes >= MAX_NOTIFY_PAYLOAD_BYTES) {
    throw new EventBusFailure(
      EventBusFailureCode.NOTIFICATION_TOO_LARGE,
      `bus notification is ${bytes} bytes as JSON; Postgres NOTIFY takes less than ${MAX_NOTIFY_PAYLOAD_BYTES}. ` +
        'Notifications carry ids and sequence numbers only; send the details through the database.',
    );
  }
  return payload;
}

async function settleWithin(work: Promise<unknown>, ms: number): Promise<'settled' | 'failed' | 'timed-out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed-out'>((resolve) => {
    timer = setTimeout(resolve, ms, 'timed-out');
  });
  try {
    return await Promise.race([work.then(() => 'settled' as const, () => 'failed' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
