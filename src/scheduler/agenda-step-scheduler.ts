import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Agenda, InMemoryNotificationChannel, type AgendaBackend, type Job, type JobParameters, type JobRepository } from 'agenda';
import type { Logger } from 'pino';
import type { EnqueueOptions, StepJobHandler, StepScheduler } from '../ports/step-scheduler.port.js';
import type { JobStore } from './job-store.js';
import { openMongoJobStore } from './mongo-job-store.js';
import { checkTableName, openPostgresJobStore } from './postgres-job-store.js';
import { parseStepJobData, STEP_JOB_NAME, STEP_JOB_UNIQUE_KEY, stepJobData } from './step-job.js';
import { trackRepositoryCalls, type TrackedRepository } from './tracked-repository.js';
import { WakeChannel } from './wake-channel.js';

/** Where Agenda keeps its jobs. */
export type SchedulerBackend = 'postgres' | 'mongo';

/**
 * How an enqueued job reaches a worker before the next poll.
 * - `backend`: the backend's cross-process channel: Postgres LISTEN/NOTIFY. MongoDB has none, so
 *   with MongoDB this behaves like `in-memory`.
 * - `in-memory`: only this process's worker is woken; other processes find the job by polling.
 *   Required for the embedded database, whose wire server cannot LISTEN (and where a listening
 *   connection makes Agenda's stop hang).
 */
export type SchedulerNotifications = 'backend' | 'in-memory';

export interface AgendaStepSchedulerOptions {
  readonly backend: SchedulerBackend;
  /** Required with the `postgres` backend: the app's database, real or the embedded one's URL. */
  readonly postgresUrl?: string;
  /** Required with the `mongo` backend. */
  readonly mongoUrl?: string;
  readonly notifications: SchedulerNotifications;
  readonly logger: Logger;
  /**
   * A job locked by a worker that has not started it, or not yet called `delivered()`, for this
   * long is taken by another worker (the worker died): it bounds how late a dead worker's jobs
   * start. Jobs are locked up to a poll before they are due, so it must exceed `processEveryMs`.
   * Locks are refreshed at a third of it until `delivered()`.
   */
  readonly lockLifetimeMs?: number;
  /**
   * How often each worker polls the store. It bounds the delay of a job whose notification did
   * not reach this worker (another process without LISTEN, MongoDB), and jobs due within the
   * next poll are picked up ahead and started on time by a local timer.
   */
  readonly processEveryMs?: number;
  /** Step jobs this process runs at once; it also never locks more than this many. */
  readonly concurrency?: number;
  /**
   * Postgres only: the scheduler's connections commit without waiting for their WAL flush (job
   * rows are not the source of truth; the sweep re-enqueues a job lost in a database crash).
   * Never on a database whose connections share one session (the embedded one), where the
   * setting would reach the engine's own commits too. Default false.
   */
  readonly asyncJobCommits?: boolean;
  /** Postgres table for the jobs; one of Agenda's backends creates it (and `<name>_logs`). */
  readonly tableName?: string;
  /** MongoDB collection for the jobs (and `<name>Logs`). */
  readonly collection?: string;
  /** How long stop() waits for running handlers and for connections to close before giving up. */
  readonly stopTimeoutMs?: number;
  /**
   * Recorded as `lastModifiedBy` on the jobs this scheduler writes, and how it tells a job row
   * another scheduler enqueued again while it ran here: it must differ between schedulers.
   * Defaults to host, pid and a random suffix.
   */
  readonly instanceName?: string;
}

export const AGENDA_STEP_SCHEDULER_DEFAULTS = {
  lockLifetimeMs: 30_000,
  processEveryMs: 1_000,
  concurrency: 10,
  tableName: 'agenda_jobs',
  collection: 'agendaJobs',
  stopTimeoutMs: 10_000,
} as const;

/** Saves of one step run racing another process's: the retry finds the other's job and updates it. */
const MAX_SAVE_ATTEMPTS = 3;

type StoreSettings =
  | { readonly backend: 'postgres'; readonly url: string; readonly tableName: string; readonly asyncCommits: boolean }
  | { readonly backend: 'mongo'; readonly url: string; readonly collection: string };

interface Runtime {
  readonly agenda: Agenda;
  readonly store: JobStore;
  readonly tracker: TrackedRepository;
  readonly wake: WakeChannel;
  /** Ids of finished rows runStep deleted, whose final state save Agenda is about to attempt. */
  readonly removed: Set<string>;
  /** Ids of rows this worker has just locked, whose start Agenda is about to save. */
  readonly starting: Set<string>;
}

/** A step job this process is running, so an enqueue of the same id from here is not lost. */
interface RunningStep {
  readonly job: Job<unknown>;
  /**
   * `delivered`: the handler took the step and the row was deleted, so an enqueue of the same id
   * inserts a fresh job; `handedBack`: its row was deleted and a fresh job enqueued for another
   * worker. In both nothing more is written for the old row.
   */
  phase: 'running' | 'releasing' | 'delivered' | 'completing' | 'handedBack';
  /** While `releasing`: the delete of the row, which an enqueue of the same id waits for. */
  releasing?: Promise<void>;
  /** Resolves once the job's row has been removed or handed back for its next run. */
  readonly finished: Promise<void>;
}

type Lifecycle = 'open' | 'stopping' | 'stopped';

/**
 * The step scheduler on Agenda 6, with jobs in Postgres (the app's own database, real or embedded)
 * or MongoDB.
 *
 * Each step run has at most one job row, located by its id: enqueuing again moves the pending
 * job, and enqueuing a job while it runs (a retry scheduled by its own handler) makes the row
 * pending again after the run instead of adding a second row. A finished job's row is deleted.
 *
 * Known gaps, closed by the engine's sweep and compare-and-set: an enqueue from *another* process
 * that lands within a query's time of the job finishing, or of a lock refresh, can be lost; and a
 * pending job moved later while a worker already holds it for a start within `processEveryMs`
 * still starts at its earlier time.
 */
export class AgendaStepScheduler implements StepScheduler {
  private readonly store: StoreSettings;
  private readonly notifications: SchedulerNotifications;
  private readonly log: Logger;
  private readonly lockLifetimeMs: number;
  private readonly processEveryMs: number;
  private readonly concurrency: number;
  private readonly stopTimeoutMs: number;
  private readonly instanceName: string;

  private lifecycle: Lifecycle = 'open';
  private opening: Promise<Runtime> | undefined;
  private stopping: Promise<void> | undefined;
  private workerStarted = false;
  private workerStopped = false;
  private readonly running = new Map<string, RunningStep>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(options: AgendaStepSchedulerOptions) {
    const defaults = AGENDA_STEP_SCHEDULER_DEFAULTS;
    if (options.backend === 'postgres') {
      if (!options.postgresUrl) throw new Error('AgendaStepScheduler: the postgres backend needs postgresUrl');
      this.store = {
        backend: 'postgres',
        url: options.postgresUrl,
        tableName: checkTableName(options.tableName ?? defaults.tableName),
        asyncCommits: options.asyncJobCommits ?? false,
      };
    } else {
      if (!options.mongoUrl) throw new Error('AgendaStepScheduler: the mongo backend needs mongoUrl');
      this.store = { backend: 'mongo', url: options.mongoUrl, collection: options.collection ?? defaults.collection };
    }
    this.notifications = options.notifications;
    this.log = options.logger;
    this.lockLifetimeMs = positive('lockLifetimeMs', options.lockLifetimeMs ?? defaults.lockLifetimeMs);
    this.processEveryMs = positive('processEveryMs', options.processEveryMs ?? defaults.processEveryMs);
    this.concurrency = positive('concurrency', options.concurrency ?? defaults.concurrency);
    this.stopTimeoutMs = positive('stopTimeoutMs', options.stopTimeoutMs ?? defaults.stopTimeoutMs);
    this.instanceName = options.instanceName ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    if (this.processEveryMs >= this.lockLifetimeMs) {
      // Jobs due before the next poll are locked ahead of time, untouched until they start.
      throw new Error('AgendaStepScheduler: processEveryMs must be shorter than lockLifetimeMs');
    }
  }

  async enqueue(stepRunId: string, runAt?: Date, options: EnqueueOptions = {}): Promise<void> {
    const { agenda, store } = await this.runtime();
    const when = runAt ?? new Date();
    let current = this.running.get(stepRunId);
    if (current?.phase === 'releasing') await current.releasing;
    if (current?.phase === 'delivered' || current?.phase === 'handedBack') current = undefined;
    if (current?.phase === 'running') {
      // Agenda rewrites the row's next run time from memory when it refreshes the lock and when
      // the run ends; set it there too, or this enqueue would be overwritten.
      current.job.attrs.nextRunAt = when;
    } else if (current) {
      await current.finished;
    }
    if (!current && !options.replacing) {
      // Most enqueues are of a step run that has no job yet: a plain insert is one statement,
      // where the unique upsert below first looks for an existing row. The unique index on the
      // step run id turns a job that does exist into a duplicate-key error, and the upsert moves it.
      // A woken wait's job does exist (its timeout): it goes to the upsert at once, since the
      // failed insert cost it a round trip and an error (about 4 ms of a reply's 30 ms).
      try {
        await agenda.create(STEP_JOB_NAME, stepJobData(stepRunId)).schedule(when).save();
        return;
      } catch (err) {
        if (!store.isUpsertRace(err)) throw err;
      }
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        await agenda
          .create(STEP_JOB_NAME, stepJobData(stepRunId))
          .unique({ [STEP_JOB_UNIQUE_KEY]: stepRunId })
          .schedule(when)
          .save();
        return;
      } catch (err) {
        if (attempt >= MAX_SAVE_ATTEMPTS || !store.isUpsertRace(err)) throw err;
      }
    }
  }

  async handBack(stepRunId: string): Promise<void> {
    const { agenda, removed } = await this.runtime();
    const current = this.running.get(stepRunId);
    if (current?.phase === 'releasing') await current.releasing;
    if (current?.phase === 'running') {
      // The running job's row stays locked by this process until its handler returns, which a
      // stopping worker may not wait for: delete it, and let runStep leave the (gone) row alone.
      current.phase = 'handedBack';
      current.job.attrs.nextRunAt = null;
      removed.add(String(current.job.attrs._id));
      await agenda.cancel({ id: current.job.attrs._id });
    } else if (current && current.phase !== 'delivered' && current.phase !== 'handedBack') {
      await current.finished;
    }
    try {
      await agenda.create(STEP_JOB_NAME, stepJobData(stepRunId)).schedule(new Date()).save();
    } catch (err) {
      const { store } = await this.runtime();
      if (!store.isUpsertRace(err)) throw err;
      await this.enqueue(stepRunId);
    }
  }

  async stopWorker(): Promise<void> {
    if (!this.workerStarted || this.lifecycle !== 'open') return;
    const rt = await this.runtime();
    this.workerStopped = true;
    // Stops polling and listening, and releases jobs locked but not started; running jobs keep
    // their locks, and enqueues still publish (see WakeChannel.disconnect).
    await rt.agenda.stop(false);
  }

  async cancel(stepRunIds: readonly string[]): Promise<void> {
    if (stepRunIds.length === 0) return;
    const { agenda } = await this.runtime();
    const ids = [...new Set(stepRunIds)];
    for (const id of ids) {
      const current = this.running.get(id);
      if (current) current.job.attrs.nextRunAt = null;
    }
    await Promise.all(ids.map((id) => agenda.cancel({ name: STEP_JOB_NAME, data: stepJobData(id) })));
  }

  async startWorker(handler: StepJobHandler): Promise<void> {
    if (this.workerStarted) throw new Error('AgendaStepScheduler: startWorker was already called');
    this.workerStarted = true;
    let rt: Runtime;
    try {
      rt = await this.runtime();
    } catch (err) {
      this.workerStarted = false;
      throw err;
    }
    rt.agenda.define<unknown>(STEP_JOB_NAME, (job) => this.track(this.runStep(job, handler, rt)), {
      concurrency: this.concurrency,
      // A job locked but waiting for a free slot is not touched, and Agenda silently drops one
      // whose lock expires in its queue; locking no more than it can run avoids both.
      lockLimit: this.concurrency,
      lockLifetime: this.lockLifetimeMs,
      // runStep deletes the row itself, at a point where an enqueue from this process cannot slip in.
      removeOnComplete: false,
    });
    // Agenda was started without a job definition; pick up what is already due now, not at the next poll.
    rt.wake.wake();
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private runtime(): Promise<Runtime> {
    if (this.lifecycle === 'stopped' || (this.lifecycle === 'stopping' && !this.opening)) {
      return Promise.reject(new Error('AgendaStepScheduler is stopped'));
    }
    this.opening ??= this.open().catch((err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  private async open(): Promise<Runtime> {
    const store = await this.openStore();
    let wake: WakeChannel | undefined;
    try {
      const removed = new Set<string>();
      const starting = new Set<string>();
      const tracker = trackRepositoryCalls(trimJobWrites(store.repository, { removed, starting }));
      wake = new WakeChannel(store.remoteChannel ?? new InMemoryNotificationChannel(), (err) =>
        this.log.warn({ err }, 'step scheduler notification channel failed'),
      );
      const backend: AgendaBackend = {
        name: store.name,
        repository: tracker.repository,
        ownsConnection: false,
        // Connected already: Agenda calls connect() from its constructor and drops a rejection
        // (an unhandled rejection, and a `ready` that never settles).
        connect: async () => {},
        disconnect: () => store.close(),
      };
      const agenda = new Agenda({
        backend,
        notificationChannel: wake,
        name: this.instanceName,
        processEvery: this.processEveryMs,
        maxConcurrency: this.concurrency,
        defaultConcurrency: this.concurrency,
        defaultLockLifetime: this.lockLifetimeMs,
        removeOnComplete: false,
      });
      agenda.on('error', (err) => this.log.warn({ err }, 'agenda reported an error'));
      const wakeChannel = wake;
      agenda.on('complete', () => {
        // A finished job frees a slot; Agenda itself only refills on the next poll or notification.
        if (this.workerStarted && !this.workerStopped && this.lifecycle === 'open') setImmediate(() => wakeChannel.wake());
      });
      // Started even without a worker, so this process's enqueues publish notifications.
      await agenda.start();
      this.log.info(
        { backend: store.name, notifications: store.remoteChannel ? 'cross-process' : 'in-process' },
        'step scheduler connected',
      );
      return { agenda, store, tracker, wake, removed, starting };
    } catch (err) {
      await wake?.close().catch(() => {});
      await store.close().catch(() => {});
      throw err;
    }
  }

  private openStore(): Promise<JobStore> {
    if (this.store.backend === 'mongo') {
      return openMongoJobStore({ url: this.store.url, collection: this.store.collection });
    }
    return openPostgresJobStore({
      url: this.store.url,
      tableName: this.store.tableName,
      listen: this.notifications === 'backend',
      asyncCommits: this.store.asyncCommits,
      onPoolError: (err) => this.log.warn({ err }, 'step scheduler database connection failed'),
    });
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    const forget = () => this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** The Agenda job function: never rejects, so Agenda neither retries nor keeps a failed job. */
  private async runStep(job: Job<unknown>, handler: StepJobHandler, rt: Runtime): Promise<void> {
    const data = parseStepJobData(job.attrs.data);
    if (!data) {
      this.log.error({ jobId: job.attrs._id, data: job.attrs.data }, 'dropping a step job without a step run id');
      await this.removeRow(job, rt).catch((err: unknown) => this.log.warn({ err }, 'could not drop a step job'));
      return;
    }
    const { stepRunId } = data;
    rt.starting.delete(String(job.attrs._id));
    let markFinished: () => void = () => {};
    const entry: RunningStep = {
      job,
      phase: 'running',
      finished: new Promise<void>((resolve) => (markFinished = resolve)),
    };
    // A second delivery of a run already running here (an expired lock) must not evict the first.
    const owner = !this.running.has(stepRunId);
    if (owner) this.running.set(stepRunId, entry);
    const keepAlive = this.keepLocked(job, rt);
    const delivered = async (): Promise<void> => {
      if (entry.phase !== 'running' || job.attrs.nextRunAt) return;
      entry.phase = 'releasing';
      entry.releasing = (async () => {
        await keepAlive.stop();
        const id = String(job.attrs._id);
        try {
          // Deleted only if nobody else enqueued it again meanwhile (see finishRow).
          if (await rt.store.removeIfNotRescheduled(id, this.instanceName)) {
            rt.removed.add(id);
            entry.phase = 'delivered';
            return;
          }
        } catch (err) {
          this.log.warn({ err, stepRunId }, 'could not remove a delivered step job; it is removed when the handler ends');
        }
        entry.phase = 'running';
      })();
      await entry.releasing;
    };
    try {
      await handler(stepRunId, { delivered });
    } catch (err) {
      this.log.error({ err, stepRunId }, 'step job handler failed; the scheduler does not retry it');
    } finally {
      await keepAlive.stop();
      if (entry.phase === 'releasing') await entry.releasing;
      if (entry.phase === 'handedBack' || entry.phase === 'delivered') {
        // The row is gone already; Agenda's own final save of it fails quietly, by design.
        if (owner) this.running.delete(stepRunId);
        markFinished();
        return;
      }
      entry.phase = 'completing';
      try {
        await this.finishRow(job, rt);
      } catch (err) {
        this.log.warn({ err, stepRunId }, 'could not remove a finished step job');
      } finally {
        if (owner) this.running.delete(stepRunId);
        markFinished();
      }
    }
  }

  /**
   * Refreshes the job's lock while its handler runs, first taking over a next run time that
   * another process enqueued meanwhile (the refresh writes the in-memory one back).
   */
  private keepLocked(job: Job<unknown>, rt: Runtime): { stop(): Promise<void> } {
    let tick: Promise<void> = Promise.resolve();
    const refresh = async () => {
      const row = await rt.tracker.repository.getJobById(String(job.attrs._id));
      if (!row) return; // cancelled while running
      this.adoptRescheduling(job, row);
      await job.touch();
    };
    const timer = setInterval(() => {
      tick = tick.then(refresh).catch((err: unknown) =>
        this.log.warn({ err, jobId: job.attrs._id }, 'could not refresh a running step job lock'),
      );
    }, this.lockLifetimeMs / 3);
    timer.unref();
    return {
      // A refresh landing after Agenda unlocked the finished row would lock it again.
      stop: async () => {
        clearInterval(timer);
        await tick;
      },
    };
  }

  /**
   * After the handler: if the run was enqueued again while it ran (here or elsewhere), leave the
   * row for Agenda to save with its new run time and unlock; otherwise delete it now, while it is
   * still locked. Agenda's own final save of a deleted row fails quietly, by design.
   */
  private async finishRow(job: Job<unknown>, rt: Runtime): Promise<void> {
    if (job.attrs.nextRunAt) return; // enqueued again from this process
    const id = String(job.attrs._id);
    // The row was last written by this process when it locked it (or refreshed the lock); a
    // write since then is an enqueue from another process, and the row must stay.
    if (await rt.store.removeIfNotRescheduled(id, this.instanceName)) {
      rt.removed.add(id);
      return;
    }
    const row = await rt.tracker.repository.getJobById(id);
    if (row) this.adoptRescheduling(job, row);
  }

  /** Takes over the next run time another process gave this job's row while it ran here. */
  private adoptRescheduling(job: Job<unknown>, row: JobParameters): void {
    if (row.lastModifiedBy !== this.instanceName && row.nextRunAt && !job.attrs.nextRunAt) job.attrs.nextRunAt = row.nextRunAt;
  }

  private async removeRow(job: Job<unknown>, rt: Runtime): Promise<void> {
    if (job.attrs._id) await rt.agenda.cancel({ id: job.attrs._id });
  }

  private async shutdown(): Promise<void> {
    const opening = this.opening;
    this.lifecycle = 'stopping';
    if (!opening) {
      this.lifecycle = 'stopped';
      return;
    }
    let stage = 'connecting';
    const work = (async () => {
      const rt = await opening.catch(() => undefined);
      if (!rt) return;
      stage = 'stopping Agenda';
      // Stops polling and listening and releases jobs locked but not started; running jobs keep their locks.
      if (!this.workerStopped) await rt.agenda.stop(false);
      stage = 'waiting for running step handlers';
      await Promise.all([...this.inFlight]);
      stage = "waiting for Agenda's last writes";
      await rt.tracker.settled();
      stage = 'closing connections';
      await rt.wake.close();
      await rt.store.close();
    })();
    const finished = await settlesWithin(
      work.catch((err: unknown) => this.log.warn({ err, stage }, 'step scheduler did not stop cleanly')),
      this.stopTimeoutMs,
    );
    this.lifecycle = 'stopped';
    if (!finished) {
      this.log.warn(
        { stage, running: this.inFlight.size, timeoutMs: this.stopTimeoutMs },
        'gave up waiting for the step scheduler to stop; its connections may stay open',
      );
    }
  }
}

/**
 * Two of Agenda's writes per job that a step job does not need, skipped:
 * - the state save when a run starts, for a job due when it was locked (it records `lastRunAt` and
 *   clears the next run time): the lock has already marked the row as ours, and runStep tells a
 *   rescheduled row by who wrote it last;
 * - the state save after the job's function returns, when runStep has deleted the row meanwhile
 *   (it would fail, and Agenda ignores that, by design).
 */
function trimJobWrites(repository: JobRepository, rows: { removed: Set<string>; starting: Set<string> }): JobRepository {
  return new Proxy(repository, {
    get(target, property) {
      if (property === 'getNextJobToRun') {
        const getNextJobToRun: JobRepository['getNextJobToRun'] = async (...args) => {
          const job = await target.getNextJobToRun(...args);
          // Only a job due now starts at once. One locked ahead of its time waits on a timer, and
          // there the start save is what finds a job cancelled meanwhile (it fails on a deleted row).
          const dueNow = !job?.nextRunAt || job.nextRunAt.getTime() <= Date.now();
          if (job?._id !== undefined && job.name === STEP_JOB_NAME && dueNow) rows.starting.add(String(job._id));
          return job;
        };
        return getNextJobToRun;
      }
      if (property === 'saveJobState') {
        const saveJobState: JobRepository['saveJobState'] = async (job, options) => {
          const id = job._id === undefined ? undefined : String(job._id);
          if (id !== undefined && rows.removed.delete(id)) return;
          if (id !== undefined && job.lockedAt && rows.starting.delete(id)) return;
          await target.saveJobState(job, options);
        };
        return saveJobState;
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`AgendaStepScheduler: ${name} must be positive`);
  return value;
}

/** True when `work` settled within `ms`; false when the time ran out first. */
async function settlesWithin(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
