import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ActionRegistry } from '../actions/action-registry.js';
import type { EngineDeps, RunEventListener } from '../engine/engine-deps.js';
import { EventWaits } from '../engine/event-waits.js';
import { FailureHandlers } from '../engine/failure-handlers.js';
import { LocalStarts } from '../engine/local-starts.js';
import { MessageWaits } from '../engine/message-waits.js';
import { ScheduleTicker } from '../engine/schedule-ticker.js';
import { StepExecutor } from '../engine/step-executor.js';
import { Sweeper } from '../engine/sweeper.js';
import { VersionCache } from '../engine/version-cache.js';
import { WorkflowRunner } from '../engine/workflow-runner.js';
import type { Clock } from '../ports/clock.port.js';
import type { DueStepsChannel } from '../ports/due-steps.port.js';
import type { StepScheduler } from '../ports/step-scheduler.port.js';
import { createMessagingProviders } from '../providers/provider-registry.js';
import { SafeHttpClient } from '../providers/safe-http.client.js';
import { createStepScheduler } from '../scheduler/create-step-scheduler.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Storage } from './storage.wiring.js';

/** What drives runs: the scheduler, the step executor, the runner that starts runs, the sweeper. */
export interface Engine {
  readonly scheduler: StepScheduler;
  readonly executor: StepExecutor;
  readonly runner: WorkflowRunner;
  /** Sends events and wakes the steps that wait for them. */
  readonly events: EventWaits;
  /** Wakes the steps that wait for inbound messages. */
  readonly messages: MessageWaits;
  readonly sweeper: Sweeper;
  /** Fires schedule triggers (in processes that run workers). */
  readonly ticker: ScheduleTicker;
  readonly versions: VersionCache;
  readonly clock: Clock;
  /** This process's worker name: the owner of the leases it takes. */
  readonly workerName: string;
  /** Takes steps from the scheduler, sweeps for lost ones and fires schedules (processes that run workers). */
  startWorker(): Promise<void>;
  /**
   * Graceful drain: takes no more steps, gives the running ones the shutdown grace, hands back
   * the rest, then stops the scheduler.
   */
  stop(): Promise<void>;
}

export interface EngineWiringOptions {
  readonly config: Config;
  readonly storage: Storage;
  readonly registry: ActionRegistry;
  readonly logger: Logger;
  /** Told after every committed transition (the realtime service publishes them). */
  readonly onEvents: RunEventListener;
  /** The time schedule ticks are due by (tests fix it); default the engine's clock. */
  readonly scheduleClock?: Clock;
  /** Where woken waits are announced to the workers, ahead of their jobs; unset, only the jobs start them. */
  readonly dueSteps?: DueStepsChannel;
}

export function wireEngine({ config, storage, registry, logger, onEvents, scheduleClock, dueSteps }: EngineWiringOptions): Engine {
  const { database } = storage;
  // Unique among a deployment's processes: it owns the leases this process takes.
  const workerName = config.WORKER_NAME ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const clock: Clock = { now: () => new Date() };
  const scheduler = createStepScheduler({
    postgresUrl: database.url,
    mongoUrl: config.MONGODB_URL,
    // LISTEN/NOTIFY does not reach clients of the embedded database; one process needs no broker.
    notifications: database.embedded ? 'in-memory' : 'backend',
    // The embedded database runs every connection in one session: the setting would reach the engine's commits.
    asyncJobCommits: !database.embedded,
    logger: logger.child({ component: 'scheduler' }),
    // A job only lasts until its step is claimed (the step's lease guards it then): its lock
    // covers the wait for its due time (at most a poll) and the claim.
    lockLifetimeMs: config.SCHEDULER_POLL_MS + 1_000,
    processEveryMs: config.SCHEDULER_POLL_MS,
    concurrency: config.WORKER_CONCURRENCY,
    tableName: config.SCHEDULER_TABLE,
    collection: config.SCHEDULER_TABLE,
    instanceName: workerName,
    // Handlers have been drained (or handed back) by then; this bounds the wait for Agenda's last writes.
    stopTimeoutMs: config.SHUTDOWN_GRACE_MS + 10_000,
  });
  const versions = new VersionCache({ store: storage.workflows, catalog: registry });
  const deps: EngineDeps = {
    runs: storage.runs,
    versions,
    registry,
    scheduler,
    services: {
      messaging: messagingProviders({ config, storage, clock }),
      http: new SafeHttpClient({
        allowPrivateNetworks: config.HTTP_ALLOW_PRIVATE_NETWORKS,
        allowedHosts: config.HTTP_ALLOWED_HOSTS,
        maxRedirects: config.HTTP_MAX_REDIRECTS,
        idempotencyHeader: config.HTTP_IDEMPOTENCY_HEADER === 'none' ? null : config.HTTP_IDEMPOTENCY_HEADER,
      }),
      clock,
    },
    clock,
    logger: logger.child({ component: 'engine' }),
    timings: { leaseMs: config.STEP_LEASE_MS, stepTimeoutMs: config.STEP_TIMEOUT_MS },
    workerName,
    onEvents,
    onInstanceFailed: (failed) => failureHandlers.afterFailure(failed),
    onWaitBegan: (wait) => events.afterWaitBegan(wait),
    ...(dueSteps ? { onStepsDue: (stepRunIds: readonly string[]) => dueSteps.announce(stepRunIds) } : {}),
  };
  const executor = new StepExecutor(deps);
  const runner = new WorkflowRunner({ deps, queries: storage.runQueries, workflows: storage.workflows, maxInputBytes: config.MAX_INPUT_BYTES });
  const failureHandlers = new FailureHandlers({ runs: storage.runs, versions, runner });
  const events = new EventWaits({
    deps,
    waits: storage.waits,
    limits: {
      retentionMs: config.EVENT_RETENTION_MS,
      maxPendingPerKey: config.EVENT_MAX_PENDING_PER_KEY,
      maxPendingPerWorkspace: config.EVENT_MAX_PENDING_PER_WORKSPACE,
      maxPayloadBytes: config.EVENT_MAX_PAYLOAD_BYTES,
    },
  });
  const messages = new MessageWaits({ deps, waits: storage.waits });
  const sweeper = new Sweeper({
    deps,
    sweep: storage.runSweep,
    intervalMs: config.SWEEP_INTERVAL_MS,
    graceMs: config.SWEEP_GRACE_MS,
    failureHandlers: { handlers: failureHandlers, recoveryWindowMs: config.FAILURE_HANDLER_RECOVERY_WINDOW_MS },
    purgeExpiredEvents: (limit) => events.purgeExpired(limit),
  });
  const localStarts = new LocalStarts({ executor, scheduler, concurrency: config.WORKER_CONCURRENCY, logger: deps.logger });
  const ticker = new ScheduleTicker({
    schedules: storage.schedules,
    catalog: registry,
    runner,
    clock: scheduleClock ?? clock,
    logger: logger.child({ component: 'schedules' }),
    owner: workerName,
    pollMs: config.SCHEDULER_POLL_MS,
    missedAfterMs: config.SCHEDULE_MISSED_AFTER_MS,
    runHere: (ids) => localStarts.run(ids),
  });
  let working = false;
  let stopHearing: (() => void) | undefined;
  return {
    scheduler,
    executor,
    runner,
    events,
    messages,
    sweeper,
    ticker,
    versions,
    clock,
    workerName,
    async startWorker() {
      working = true;
      await scheduler.startWorker((stepRunId, job) => executor.execute(stepRunId, job));
      stopHearing = dueSteps?.listen((stepRunIds) => localStarts.offer(stepRunIds));
      sweeper.start();
      ticker.start();
    },
    async stop() {
      stopHearing?.();
      await ticker.stop();
      await localStarts.stop();
      await sweeper.stop();
      if (working) {
        await scheduler.stopWorker();
        const drained = await executor.drain(config.SHUTDOWN_GRACE_MS);
        if (drained.handedBack > 0) logger.warn(drained, 'handed back steps that did not finish within the shutdown grace');
      }
      await scheduler.stop();
    },
  };
}

/** The messaging providers of the vendors set up in the configuration (the sandbox otherwise). */
function messagingProviders({ config, storage, clock }: { config: Config; storage: Storage; clock: Clock }) {
  return createMessagingProviders({
    store: storage.outboundMessages,
    vendors: config.messaging.vendors,
    timeoutMs: config.MESSAGING_TIMEOUT_MS,
    clock,
  });
}
