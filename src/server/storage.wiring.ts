import { ApiKeyRepository } from '../persistence/api-key.repository.js';
import { openDatabase, type Database } from '../persistence/database.js';
import { EventSigningRepository } from '../persistence/event-signing.repository.js';
import { InboundDeliveryRepository } from '../persistence/inbound-delivery.repository.js';
import { InboundMessageRepository } from '../persistence/inbound-message.repository.js';
import { OutboundMessageRepository } from '../persistence/outbound-message.repository.js';
import { RunCommandRepository } from '../persistence/run-command.repository.js';
import { RunFeedRepository } from '../persistence/run-feed.repository.js';
import { RunQueryRepository } from '../persistence/run-query.repository.js';
import { RunSweepRepository } from '../persistence/run-sweep.repository.js';
import { WaitRepository } from '../persistence/wait.repository.js';
import { ScheduleRepository } from '../persistence/schedule.repository.js';
import { SeenSignatureRepository } from '../persistence/seen-signature.repository.js';
import { WebhookRepository } from '../persistence/webhook.repository.js';
import { WorkflowRepository } from '../persistence/workflow.repository.js';
import type { Config } from './config.js';

/** The database and a repository per store port, all on the same connections. */
export interface Storage {
  readonly database: Database;
  readonly workflows: WorkflowRepository;
  readonly apiKeys: ApiKeyRepository;
  /** The engine's writes to runs. */
  readonly runs: RunCommandRepository;
  readonly runQueries: RunQueryRepository;
  readonly runSweep: RunSweepRepository;
  /** Waits for events, and the events kept for them. */
  readonly waits: WaitRepository;
  /** Schedules of workflows started by schedule triggers, and the workers' claims on their ticks. */
  readonly schedules: ScheduleRepository;
  /** Reads of the realtime streams, on connections of their own (see Database.liveDb). */
  readonly live: { readonly feed: RunFeedRepository; readonly logs: RunQueryRepository };
  readonly outboundMessages: OutboundMessageRepository;
  readonly webhooks: WebhookRepository;
  readonly inboundMessages: InboundMessageRepository;
  readonly inboundDeliveries: InboundDeliveryRepository;
  /** Workspaces' event signing secrets, and the signed events accepted within their tolerance. */
  readonly eventSigning: EventSigningRepository;
  readonly seenSignatures: SeenSignatureRepository;
  /** Resolves when the database answers a trivial query; rejects otherwise (health checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StorageOptions {
  readonly config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_SIZE'>;
  /** Connections to open to real Postgres; DATABASE_POOL_SIZE by default (an operator command needs few). */
  readonly poolSize?: number;
}

/** Opens the database (applying migrations) and builds the repositories over it. */
export async function openStorage({ config, poolSize }: StorageOptions): Promise<Storage> {
  const database = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: poolSize ?? config.DATABASE_POOL_SIZE,
  });
  const { db, liveDb } = database;
  return {
    database,
    workflows: new WorkflowRepository(db),
    apiKeys: new ApiKeyRepository(db),
    runs: new RunCommandRepository(db, database.sql),
    runQueries: new RunQueryRepository(db),
    runSweep: new RunSweepRepository(db),
    waits: new WaitRepository(db),
    schedules: new ScheduleRepository(db),
    live: { feed: new RunFeedRepository(liveDb), logs: new RunQueryRepository(liveDb) },
    outboundMessages: new OutboundMessageRepository(db),
    webhooks: new WebhookRepository(db),
    inboundMessages: new InboundMessageRepository(db),
    inboundDeliveries: new InboundDeliveryRepository(db),
    eventSigning: new EventSigningRepository(db),
    seenSignatures: new SeenSignatureRepository(db),
    async ping() {
      await database.sql`select 1`;
    },
    close: () => database.close(),
  };
}
