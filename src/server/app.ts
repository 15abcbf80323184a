import 'reflect-metadata';
import type { Server } from 'node:http';
import { ActionRegistry } from '../actions/action-registry.js';
import { builtinActions } from '../actions/builtin-actions.js';
import type { StepExecutor } from '../engine/step-executor.js';
import type { ScheduleTicker } from '../engine/schedule-ticker.js';
import type { Sweeper } from '../engine/sweeper.js';
import type { WorkflowRunner } from '../engine/workflow-runner.js';
import { clientAddressResolver } from '../http/client-address.js';
import type { Database } from '../persistence/database.js';
import type { StepScheduler } from '../ports/step-scheduler.port.js';
import type { Clock } from '../ports/clock.port.js';
import type { ApiKeyService } from '../services/api-key.service.js';
import type { Config } from './config.js';
import { wireEngine } from './engine.wiring.js';
import { wireGraphQL, type GraphQLApi } from './graphql.wiring.js';
import { createHttpServer, listen, wireHttp } from './http.wiring.js';
import type { Logger } from './logger.js';
import { dueStepsOverBus } from '../realtime/due-steps-over-bus.js';
import { wireRealtime } from './realtime.wiring.js';
import { wireServices } from './services.wiring.js';
import { openStorage } from './storage.wiring.js';

/** A running server and what tests and the CLI need to reach into. */
export interface App {
  readonly url: string;
  readonly port: number;
  readonly database: Database;
  readonly apiKeys: ApiKeyService;
  readonly httpServer: Server;
  readonly scheduler: StepScheduler;
  /** This process's worker name: the owner of the leases it takes. */
  readonly workerName: string;
  readonly engine: { readonly executor: StepExecutor; readonly runner: WorkflowRunner; readonly sweeper: Sweeper; readonly ticker: ScheduleTicker };
  /** The key made on the first start of an empty database (BOOTSTRAP_API_KEY); main prints it once. */
  readonly firstApiKey?: { readonly workspaceName: string; readonly secret: string };
  stop(): Promise<void>;
}

export interface AppOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Extra action types (tests register one to prove the registry is open). */
  readonly registry?: ActionRegistry;
  /**
   * The time schedule triggers are computed with: when a publish's first tick is, and which ticks
   * are due. Tests fix it to step through ticks; the engine's own clock stays the system's.
   */
  readonly scheduleClock?: Clock;
}

/**
 * The composition root: the only place concrete adapters are constructed, each concern wired in
 * a module of its own. `ROLE=api` serves the API and runs no steps, `ROLE=worker` the reverse,
 * `all` both; every role answers `/healthz`.
 */
export async function startApp({ config, logger, registry = new ActionRegistry(builtinActions), scheduleClock }: AppOptions): Promise<App> {
  const servesApi = config.ROLE !== 'worker';
  const runsWorkers = config.ROLE !== 'api';
  const storage = await openStorage({ config });
  try {
    const realtime = await wireRealtime({ config, storage, logger });
    // Webhook URLs name the public origin, which is known once the server listens (PORT may be 0).
    let publicBaseUrl = config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`;
    let graphql: GraphQLApi | undefined;
    const engine = wireEngine({
      config,
      storage,
      registry,
      logger,
      onEvents: (events) => realtime.service.publishRunEvents(events),
      scheduleClock,
      dueSteps: dueStepsOverBus(realtime.bus, logger.child({ component: 'due-steps' })),
    });
    const services = wireServices({
      config,
      storage,
      registry,
      realtime: realtime.service,
      publicBaseUrl: () => publicBaseUrl,
      closeSocketsOfKey: async (apiKeyId) => graphql?.closeSocketsOfKey(apiKeyId),
      scheduleClock,
      runner: engine.runner,
    });
    const firstKey = servesApi && config.BOOTSTRAP_API_KEY ? await services.apiKeys.bootstrap() : undefined;
    if (firstKey) {
      logger.warn({ workspaceId: firstKey.workspace.id, keyPrefix: firstKey.key.record.prefix }, `Created workspace '${firstKey.workspace.name}' and its first API key`);
    }

    const http = createHttpServer();
    const clientAddress = clientAddressResolver(config.TRUST_PROXY);
    graphql = servesApi ? await wireGraphQL({ config, storage, services, engine, registry, httpServer: http.server, clientAddress, logger }) : undefined;
    const { inbound } = wireHttp({
      app: http.app,
      config,
      storage,
      engine,
      registry,
      graphql,
      publicBaseUrl: () => publicBaseUrl,
      authenticate: (authorization, request) => services.apiKeys.authenticate(authorization, { clientAddress: clientAddress(request) }),
      logger,
    });
    // Revocations heard from other processes close this process's sockets of the key.
    const unsubscribeRevocations = realtime.service.onKeyRevoked((n) => void graphql?.closeSocketsOfKey(n.apiKeyId));

    if (runsWorkers) await engine.startWorker();
    // Deliveries stored and left unprocessed by a process that died are taken up here.
    inbound?.start();
    const port = await listen(http.server, config);
    publicBaseUrl = config.PUBLIC_BASE_URL ?? `http://localhost:${port}`;

    const stop = stopInOrder(logger, [
      ['revocations', unsubscribeRevocations],
      ['graphql', () => graphql?.stop()],
      ['inbound', () => inbound?.stop()],
      ['engine', () => engine.stop()],
      ['realtime', () => realtime.close()],
      ['database', () => storage.close()],
    ]);
    return {
      url: `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}/graphql`,
      port,
      database: storage.database,
      apiKeys: services.apiKeys,
      httpServer: http.server,
      scheduler: engine.scheduler,
      workerName: engine.workerName,
      engine,
      firstApiKey: firstKey && { workspaceName: firstKey.workspace.name, secret: firstKey.key.secret },
      stop,
    };
  } catch (err) {
    await storage.close();
    throw err;
  }
}

/** Runs the steps one after the other, once: later calls wait for nothing and do nothing. */
function stopInOrder(logger: Logger, steps: readonly (readonly [string, () => unknown])[]): () => Promise<void> {
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    for (const [name, run] of steps) {
      logger.debug({ step: name }, 'stopping');
      await run();
    }
    logger.debug('stopped');
  };
}
