import type { Logger } from 'pino';
import type {
  ClaimedInboundDelivery,
  InboundDeliveryRecord,
  InboundDeliveryStore,
  NewInboundDelivery,
} from '../ports/inbound-delivery.store.port.js';
import type { DispatchOutcome, InboundDispatcher } from './inbound-dispatcher.js';

/** Deliveries one process works on at once, so a big one does not hold up the small ones behind it. */
const DELIVERY_LANES = 2;

export interface InboundDeliveryProcessorOptions {
  readonly store: InboundDeliveryStore;
  readonly dispatcher: Pick<InboundDispatcher, 'dispatch'>;
  /** How long a claim holds a delivery; it is extended while the delivery is processed. */
  readonly leaseMs: number;
  /** Messages of one delivery handled at once. */
  readonly concurrency: number;
  readonly logger: Logger;
}

/**
 * Processes stored inbound deliveries in the background: whatever is unprocessed when it starts
 * (a process died after answering), each delivery stored since (`wake`), and every half lease the
 * deliveries whose claims ran out. Claims make each delivery one process's at a time; messages
 * already handled by an earlier claim start nothing again (see InboundDispatcher).
 */
export class InboundDeliveryProcessor {
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  private wanted = false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: InboundDeliveryProcessorOptions) {}

  start(): void {
    this.stopped = false;
    this.wake();
    this.timer = setInterval(() => this.wake(), Math.max(100, Math.floor(this.options.leaseMs / 2)));
    this.timer.unref();
  }

  /** A delivery was stored, or may be claimable: look for work. */
  private wake(): void {
    if (this.stopped) return;
    this.wanted = true;
    while (this.running < DELIVERY_LANES) {
      this.running++;
      const lane = this.lane().finally(() => {
        this.running--;
        this.inFlight.delete(lane);
      });
      this.inFlight.add(lane);
    }
  }

  /**
   * Stores a verified delivery in one insert, then either processes it before returning
   * (`processNow`: a Twilio message, answered with the instances it started) or leaves it to the
   * background. A delivery already stored under the same signed digest is returned as it is
   * (`created: false`) and processed by whoever holds it.
   */
  async accept(
    input: NewInboundDelivery,
    options: { readonly processNow: boolean },
  ): Promise<{ delivery: InboundDeliveryRecord; created: boolean; outcome?: DispatchOutcome }> {
    const { delivery, created, claimed } = await this.options.store.save(
      input,
      options.processNow && !this.stopped ? { claimForMs: this.options.leaseMs } : {},
    );
    if (!created || delivery.processedAt !== null) return { delivery, created };
    if (!claimed) {
      this.wake();
      return { delivery, created };
    }
    const run = this.process(claimed);
    const tracked = run.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(tracked);
    try {
      return { delivery, created, outcome: await run };
    } catch {
      // Stored and claimed: once the claim runs out, the background takes it.
      return { delivery, created };
    } finally {
      this.inFlight.delete(tracked);
    }
  }

  /** Stops claiming; deliveries in progress stop between messages and are given back for any process. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async lane(): Promise<void> {
    while (this.wanted && !this.stopped) {
      this.wanted = false;
      let claimed: ClaimedInboundDelivery | undefined;
      try {
        claimed = await this.options.store.claimNext(this.options.leaseMs);
      } catch (err) {
        this.options.logger.error({ err }, 'could not claim an inbound delivery; trying again later');
        return;
      }
      if (!claimed) continue;
      // More may be waiting: another lane looks while this one works.
      this.wake();
      await this.process(claimed).catch(() => undefined);
      this.wanted = true;
    }
  }

  /** Dispatches a claimed delivery's messages, keeping its lease alive, and marks it processed. */
  private async process(claimed: ClaimedInboundDelivery): Promise<DispatchOutcome> {
    const { store, dispatcher, leaseMs, concurrency, logger } = this.options;
    const log = logger.child({ deliveryId: claimed.delivery.id, provider: claimed.delivery.provider, claim: claimed.claim });
    let lost = false;
    const heartbeat = setInterval(() => {
      store.extendClaim(claimed, leaseMs).then(
        (held) => {
          if (!held) lost = true;
        },
        (err: unknown) => log.warn({ err }, 'could not extend the claim on an inbound delivery'),
      );
    }, Math.max(50, Math.floor(leaseMs / 3)));
    try {
      const outcome = await dispatcher.dispatch(claimed.messages, { concurrency, shouldStop: () => lost || this.stopped });
      if (!outcome.complete) {
        if (lost) log.warn('the claim on an inbound delivery ran out while processing it; another process finishes it');
        else await store.release(claimed);
        return outcome;
      }
      await store.finish(claimed, outcome.startedInstanceIds.length);
      log.debug({ messages: outcome.messages, started: outcome.startedInstanceIds.length }, 'inbound delivery processed');
      return outcome;
    } catch (err) {
      // Its lease runs out and a process claims it again; handled messages are not redone.
      log.error({ err }, 'processing an inbound delivery failed; it is retried once its claim runs out');
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  }
}
