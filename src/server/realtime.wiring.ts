import type { EventBus } from '../ports/event-bus.port.js';
import { InProcessEventBus } from '../realtime/in-process-event-bus.js';
import { PostgresEventBus } from '../realtime/postgres-event-bus.js';
import { RealtimeService } from '../realtime/realtime.service.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Storage } from './storage.wiring.js';

/** The event bus between processes and the live streams over it. */
export interface Realtime {
  readonly bus: EventBus;
  readonly service: RealtimeService;
  close(): Promise<void>;
}

export interface RealtimeWiringOptions {
  readonly config: Pick<Config, 'SUBSCRIPTION_BUFFER' | 'REALTIME_POLL_MS' | 'REALTIME_ROUND_MS'>;
  readonly storage: Storage;
  readonly logger: Logger;
}

export async function wireRealtime({ config, storage, logger }: RealtimeWiringOptions): Promise<Realtime> {
  const { database } = storage;
  // One process on the embedded database needs no broker; real Postgres fans out with LISTEN/NOTIFY.
  const bus: EventBus = database.embedded
    ? new InProcessEventBus({ logger: logger.child({ component: 'event-bus' }) })
    : await PostgresEventBus.create({ url: database.url, logger: logger.child({ component: 'event-bus' }) });
  const service = new RealtimeService({
    bus,
    feed: storage.live.feed,
    logs: storage.live.logs,
    logger: logger.child({ component: 'realtime' }),
    bufferSize: config.SUBSCRIPTION_BUFFER,
    safetyPollMs: config.REALTIME_POLL_MS,
    minRoundMs: config.REALTIME_ROUND_MS,
  });
  return {
    bus,
    service,
    async close() {
      service.close();
      await bus.close();
    },
  };
}
