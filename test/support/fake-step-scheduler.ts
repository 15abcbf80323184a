import type { StepJobHandler, StepScheduler } from '../../src/ports/step-scheduler.port.js';

/**
 * The pending jobs of fake schedulers. Two schedulers given the same store behave like two
 * processes on one database: a job enqueued by one is delivered by the other's worker.
 */
export class FakeJobStore {
  /** Pending jobs: step run id -> when it is due. */
  readonly pending = new Map<string, Date>();
  private readonly watchers = new Set<() => void>();

  /** @internal tells every attached worker that the pending jobs changed. */
  changed(): void {
    for (const watcher of this.watchers) watcher();
  }

  /** @internal */
  watch(watcher: () => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }
}

export interface FakeStepSchedulerOptions {
  /** Share one to simulate several processes on the same database; a fresh one by default. */
  readonly store?: FakeJobStore;
  /**
   * When false, nothing is delivered on its own: the test calls `runDue()` (with its own `now`)
   * and gets fully deterministic deliveries. Default true: due jobs are delivered by timers.
   */
  readonly autoDeliver?: boolean;
  /** Decides what is due, and the default `runAt`. */
  readonly now?: () => Date;
}

export interface FakeDelivery {
  readonly stepRunId: string;
  readonly at: Date;
}

/**
 * An in-memory StepScheduler for engine tests. It passes the same contract suite as the Agenda
 * one, and adds controls a real scheduler cannot offer: see and fire pending jobs, and deliver a
 * job twice on purpose (what a lost lock or a crash between "done" and "removed" causes).
 */
export class FakeStepScheduler implements StepScheduler {
  readonly store: FakeJobStore;
  /** Every delivery to the handler, in order. */
  readonly deliveries: FakeDelivery[] = [];
  /** Handler rejections; the real scheduler logs them and moves on. */
  readonly failures: Array<{ readonly stepRunId: string; readonly error: unknown }> = [];

  private readonly autoDeliver: boolean;
  private readonly now: () => Date;
  private handler: StepJobHandler | undefined;
  private unwatch: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private workerStopped = false;
  private readonly running = new Set<Promise<void>>();

  constructor(options: FakeStepSchedulerOptions = {}) {
    this.store = options.store ?? new FakeJobStore();
    this.autoDeliver = options.autoDeliver ?? true;
    this.now = options.now ?? (() => new Date());
  }

  async enqueue(stepRunId: string, runAt?: Date): Promise<void> {
    this.assertOpen();
    this.store.pending.set(stepRunId, runAt ?? this.now());
    this.store.changed();
  }

  async cancel(stepRunIds: readonly string[]): Promise<void> {
    this.assertOpen();
    for (const id of stepRunIds) this.store.pending.delete(id);
    this.store.changed();
  }

  async startWorker(handler: StepJobHandler): Promise<void> {
    this.assertOpen();
    if (this.handler) throw new Error('FakeStepScheduler: startWorker was already called');
    this.handler = handler;
    this.unwatch = this.store.watch(() => this.arm());
    this.arm();
  }

  async handBack(stepRunId: string): Promise<void> {
    await this.enqueue(stepRunId);
  }

  async stopWorker(): Promise<void> {
    this.workerStopped = true;
    this.unwatch?.();
    this.unwatch = undefined;
    clearTimeout(this.timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = undefined;
    clearTimeout(this.timer);
    await this.settled();
  }

  /** Pending step run ids, soonest first. */
  pendingIds(): string[] {
    return [...this.store.pending.entries()]
      .sort(([a, atA], [b, atB]) => atA.getTime() - atB.getTime() || a.localeCompare(b))
      .map(([id]) => id);
  }

  /** When the pending job of `stepRunId` is due, if there is one. */
  pendingRunAt(stepRunId: string): Date | undefined {
    return this.store.pending.get(stepRunId);
  }

  /** How often `stepRunId` has been delivered. */
  deliveryCount(stepRunId: string): number {
    return this.deliveries.filter((d) => d.stepRunId === stepRunId).length;
  }

  /** Delivers every job due at `now()` and waits for the handlers, including what they enqueue as due. */
  async runDue(): Promise<void> {
    for (;;) {
      const due = this.takeDue();
      if (due.length === 0) return;
      await Promise.all(due.map((id) => this.deliver(id)));
    }
  }

  /**
   * Delivers `stepRunId` to two handler calls at once and removes its pending job, as a
   * redelivery after a lost lock would. Works whether or not a job is pending.
   */
  async deliverTwice(stepRunId: string): Promise<void> {
    this.store.pending.delete(stepRunId);
    await Promise.all([this.deliver(stepRunId), this.deliver(stepRunId)]);
  }

  /** Delivers `stepRunId` once more now, pending or not (a stale or duplicate job). */
  async redeliver(stepRunId: string): Promise<void> {
    await this.deliver(stepRunId);
  }

  /** Waits until no handler is running. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private assertOpen(): void {
    if (this.stopped) throw new Error('FakeStepScheduler is stopped');
  }

  private takeDue(): string[] {
    const now = this.now().getTime();
    const due = this.pendingIds().filter((id) => (this.store.pending.get(id)?.getTime() ?? Infinity) <= now);
    for (const id of due) this.store.pending.delete(id);
    return due;
  }

  /** Sets one timer for the soonest pending job. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.autoDeliver || this.stopped || this.workerStopped || !this.handler) return;
    const [next] = this.pendingIds();
    if (next === undefined) return;
    const dueAt = this.store.pending.get(next)?.getTime() ?? 0;
    this.timer = setTimeout(
      () => {
        for (const id of this.takeDue()) void this.deliver(id);
        this.arm();
      },
      Math.max(0, dueAt - this.now().getTime()),
    );
  }

  private deliver(stepRunId: string): Promise<void> {
    const handler = this.handler;
    if (!handler) throw new Error('FakeStepScheduler: no worker started');
    this.deliveries.push({ stepRunId, at: this.now() });
    const run = (async () => {
      try {
        await handler(stepRunId, { delivered: async () => {} });
      } catch (error) {
        this.failures.push({ stepRunId, error });
      }
    })();
    this.running.add(run);
    void run.then(() => this.running.delete(run));
    return run;
  }
}
