import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ActionResult } from '../ports/action.port.js';
import { ActionError, toActionError } from '../domain/action-error.js';
import type { JsonValue } from '../domain/json.js';
import { nextRetryDelay } from '../domain/retry-policy.js';
import type { RunContext, StepRecord } from '../domain/run-context.js';
import { isRunnableStep, isTerminalInstance } from '../domain/run-state-machine.js';
import type { InstanceRecord, LeaseClaim, RunChange, StepRunRecord } from '../ports/run-records.js';
import type { DeliveredJob } from '../ports/step-scheduler.port.js';
import { AttemptLease } from './attempt-lease.js';
import type { CompiledVersion } from './compiled-version.js';
import type { EngineDeps } from './engine-deps.js';
import { countedAttempts, planFailure, planHandBack, planResult, type ClaimedAttempt, type OutcomePlan } from './step-outcome.js';
import { instanceMove, stepMove } from './transitions.js';

/** A job that arrives this much before its due time is put back rather than run early. */
const EARLY_TOLERANCE_MS = 20;
/** A store rejection without `retryable: false` is taken as transient (see PortFailure). */
const isRetryable = (err: unknown): boolean =>
  !(typeof err === 'object' && err !== null && 'retryable' in err && err.retryable === false);
/** First pause before an outcome commit that failed for want of the database is tried again. */
const COMMIT_RETRY_MS = 100;

/** A step this worker holds the lease of, ready to run. */
interface Claimed extends ClaimedAttempt {
  readonly version: CompiledVersion;
  /** When the claim was sent, on the monotonic clock the lease is counted on. */
  readonly claimedAt: number;
  /** Records of the steps this worker ran for the instance just before, by step id. */
  readonly outputs: ReadonlyMap<string, StepRecord>;
}

/** An attempt in flight, as a drain sees it. */
interface InFlight {
  readonly claimed: Claimed;
  readonly lease: AttemptLease;
  readonly abort: AbortController;
  /** Resolves when the attempt has committed its outcome, or given up. */
  readonly done: Promise<void>;
  handedBack: boolean;
}

/** What {@link StepExecutor.drain} did. */
export interface DrainResult {
  /** Attempts that finished within the grace. */
  readonly finished: number;
  /** Attempts handed back for another worker to run again. */
  readonly handedBack: number;
}

/**
 * Runs steps. A job names a step run; the executor reads it as stored, claims it (a fenced
 * compare-and-set that takes its lease, so a job delivered twice runs the step once and a stale
 * copy can start nothing), runs the action outside any transaction while the lease is extended,
 * and commits the outcome. When the next step is due now, the same commit creates it already
 * claimed by this worker, which runs it at once: a chain of steps costs one commit per step and
 * no job. Waits, retries and a stopping worker's hand-overs go through the scheduler.
 */
export class StepExecutor {
  private readonly inFlight = new Set<InFlight>();
  private draining = false;
  private readonly claim: LeaseClaim;

  constructor(private readonly deps: EngineDeps) {
    this.claim = { owner: deps.workerName, leaseMs: deps.timings.leaseMs };
  }

  /**
   * Runs the step run a job names, then every step after it that this worker claims in turn.
   * Once the first claim has committed, the job is done (`job.delivered()`): from then on the
   * step's lease, not the job's lock, says who runs it.
   */
  async execute(stepRunId: string, job?: DeliveredJob): Promise<void> {
    const loaded = await this.deps.runs.loadForExecution(stepRunId);
    if (!loaded) return;
    let claimed = await this.claimLoaded(loaded);
    if (claimed && job) {
      await job.delivered().catch((err: unknown) => this.deps.logger.warn({ err, stepRunId }, 'could not mark a step job delivered'));
    }
    while (claimed) claimed = await this.run(claimed);
  }

  /**
   * Stops chaining (each next step goes to the scheduler), waits up to `graceMs` for the running
   * attempts, then hands the unfinished ones back at once: they are due again for another worker,
   * and whatever this process's attempt does afterwards can no longer be committed (its fence is gone).
   */
  async drain(graceMs: number): Promise<DrainResult> {
    this.draining = true;
    const running = [...this.inFlight];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(running.map((a) => a.done)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    const unfinished = [...this.inFlight];
    await Promise.all(unfinished.map((a) => this.handBack(a)));
    return { finished: running.length - unfinished.length, handedBack: unfinished.filter((a) => a.handedBack).length };
  }

  private async claimLoaded(loaded: { stepRun: StepRunRecord; instance: InstanceRecord }): Promise<Claimed | undefined> {
    const { stepRun, instance } = loaded;
    // Late or repeated delivery: someone else ran it, or the instance ended.
    if (!isRunnableStep(stepRun.status) || isTerminalInstance(instance.status)) return undefined;
    const { clock, scheduler, versions } = this.deps;
    const now = clock.now();
    if (this.draining || stepRun.dueAt.getTime() - now.getTime() > EARLY_TOLERANCE_MS) {
      // Not now, or not here: the job goes back to the scheduler.
      await scheduler.enqueue(stepRun.id, this.draining ? undefined : stepRun.dueAt);
      return undefined;
    }
    const version = await versions.get(instance.workflowId, instance.version);
    const step = version.step(stepRun.stepId);
    // The end of a wait (parked SCHEDULED by it) goes on with the attempt that began waiting; any
    // other start, a retry after a resumed attempt included, is a new attempt.
    const resuming = stepRun.status === 'SCHEDULED' && stepRun.resumed;
    const attempt = resuming ? Math.max(1, stepRun.attempt) : stepRun.attempt + 1;
    const claimedAt = performance.now();
    const change: RunChange = {
      instanceId: instance.id,
      instance:
        instance.status === 'PENDING'
          ? { ...instanceMove('PENDING', 'start'), patch: { startedAt: now, currentStepId: stepRun.stepId } }
          : instance.status === 'WAITING'
            ? { ...instanceMove('WAITING', 'resume'), patch: { currentStepId: stepRun.stepId } }
            : undefined,
      instanceIs: instance.status === 'RUNNING' ? 'RUNNING' : undefined,
      instancePatch: { currentStepId: stepRun.stepId },
      steps: [
        {
          stepRunId: stepRun.id,
          stepId: stepRun.stepId,
          ...stepMove(stepRun.status, resuming ? 'resume' : 'start'),
          attempt,
          fence: stepRun.fence,
          claim: this.claim,
          patch: {
            attempt,
            startedAt: stepRun.startedAt ?? now,
            ...(stepRun.input === null && step ? { input: step.config } : {}),
          },
          detail: { worker: this.claim.owner, ...(resuming ? { resumed: true } : {}) },
        },
      ],
    };
    if (!(await this.commit(change))) return undefined;
    return {
      instance: { ...instance, status: 'RUNNING', currentStepId: stepRun.stepId },
      stepRun: { ...stepRun, status: 'RUNNING', attempt, fence: stepRun.fence + 1, leaseOwner: this.claim.owner },
      version,
      claimedAt,
      outputs: new Map(),
    };
  }

  /** Runs one claimed attempt and commits its outcome; returns the next step when this worker runs it too. */
  private async run(claimed: Claimed): Promise<Claimed | undefined> {
    const { stepRun, version } = claimed;
    const step = version.step(stepRun.stepId);
    const definition = step && this.deps.registry.get(step.type);
    const abort = new AbortController();
    const lease = new AttemptLease({
      runs: this.deps.runs,
      stepRunId: stepRun.id,
      fence: stepRun.fence,
      leaseMs: this.deps.timings.leaseMs,
      claimedAt: claimed.claimedAt,
      logger: this.deps.logger,
      onLost: (reason) => abort.abort(new ActionError(`Step attempt stopped: ${reason}`, { retryable: true })),
    });
    let settle: () => void = () => {};
    const entry: InFlight = { claimed, lease, abort, done: new Promise<void>((resolve) => (settle = resolve)), handedBack: false };
    this.inFlight.add(entry);
    try {
      let result: ActionResult | undefined;
      let failure: ActionError | undefined;
      if (!step || !definition) {
        failure = new ActionError(
          step ? `Step type '${step.type}' is not available on this server` : `Step '${stepRun.stepId}' is not in the version`,
          { retryable: false },
        );
      } else {
        lease.start();
        const timeout = setTimeout(() => abort.abort(new ActionError('step timed out', { retryable: true })), this.deps.timings.stepTimeoutMs);
        try {
          const context = await this.context(claimed);
          result = await definition.run({
            config: step.config,
            context,
            stepId: step.id,
            attempt: stepRun.attempt,
            resumedAfterWait: stepRun.resumed,
            ...(stepRun.resumed && stepRun.arrival ? { arrival: stepRun.arrival } : {}),
            signal: abort.signal,
            beforeSideEffect: () => lease.assertHeld(),
            services: this.deps.services,
          });
        } catch (err) {
          failure = toActionError(err);
        } finally {
          clearTimeout(timeout);
          await lease.stop();
        }
      }
      // A lease taken over, run out or handed back: another attempt owns the step now, and this
      // one's outcome cannot be committed (its fence is gone). Nothing to do.
      const lost = lease.lost;
      if (lost !== undefined || entry.handedBack) {
        this.deps.logger.info({ stepRunId: stepRun.id, reason: lost ?? 'handed back' }, 'attempt ended without its lease; its outcome is dropped');
        return undefined;
      }
      const now = this.deps.clock.now();
      const attempt = { instance: claimed.instance, stepRun };
      let plan: OutcomePlan;
      if (failure) {
        const policy = step && this.deps.registry.get(step.type)?.retryPolicy(step.config);
        const retryDelayMs = failure.retryable && policy ? nextRetryDelay(policy, countedAttempts(stepRun), Math.random) : null;
        const errorEdge = definition?.hasErrorPort
          ? { version, chain: this.draining ? undefined : this.claim, newId: randomUUID }
          : undefined;
        plan = planFailure({ attempt, failure, retryDelayMs, now, errorEdge });
      } else {
        plan = planResult({
          attempt,
          version,
          now,
          result: result!,
          chain: this.draining ? undefined : this.claim,
          newId: randomUUID,
        });
      }
      const claimedAt = performance.now();
      if (!(await this.commitOutcome(plan.change, lease, attempt))) return undefined;
      if (plan.enqueue) await this.deps.scheduler.enqueue(plan.enqueue.stepRunId, plan.enqueue.at);
      // What it waits for may have come before it began to wait (an event kept for it).
      if (plan.change.wait) await this.waitBegan(plan.change.wait.stepRunId);
      if (!plan.next) return undefined;
      const outputs = new Map(claimed.outputs);
      const output = plan.change.steps?.[0]?.patch?.output ?? null;
      // A failure that reached here followed the error edge: its error is its output.
      outputs.set(stepRun.stepId, result ? { output } : { output, error: output });
      return { ...plan.next, version, claimedAt, outputs };
    } finally {
      this.inFlight.delete(entry);
      settle();
    }
  }

  private async waitBegan(stepRunId: string): Promise<void> {
    await this.deps.onWaitBegan?.({ stepRunId }).catch((err: unknown) =>
      // The wait goes on until its timeout; an event kept for it stays kept.
      this.deps.logger.warn({ err, stepRunId }, 'could not look for an event kept for a wait'),
    );
  }

  /** A drain's hand-back of an attempt that did not finish within the grace. */
  private async handBack(entry: InFlight): Promise<void> {
    entry.lease.release('the worker is stopping');
    const plan = planHandBack({
      attempt: entry.claimed,
      now: this.deps.clock.now(),
      worker: this.claim.owner,
    });
    try {
      if (await this.commit(plan.change)) {
        entry.handedBack = true;
        await this.deps.scheduler.handBack(entry.claimed.stepRun.id);
      }
    } catch (err) {
      // The sweep takes the step over once its lease runs out.
      this.deps.logger.warn({ err, stepRunId: entry.claimed.stepRun.id }, 'could not hand a step back');
    }
  }

  private async context(claimed: Claimed): Promise<RunContext> {
    const { instance, version, stepRun, outputs: known } = claimed;
    const referenced = version.referencedSteps(stepRun.stepId);
    const missing = referenced.filter((id) => !known.has(id));
    const read = missing.length > 0 ? await this.deps.runs.outputsOf(instance.id, missing) : {};
    const steps: Record<string, StepRecord> = {};
    for (const id of referenced) {
      const record = known.get(id) ?? read[id];
      if (record) steps[id] = record;
    }
    return {
      trigger: instance.input,
      steps,
      instance: {
        id: instance.id,
        workflowId: instance.workflowId,
        version: instance.version,
        startedAt: (instance.startedAt ?? instance.createdAt).toISOString(),
      },
    };
  }

  /**
   * Commits an attempt's outcome. When the store cannot be reached (a database restart, a network
   * blip) it tries again until the attempt's lease runs out, so a short outage does not leave the
   * step for the sweep; once the lease is gone the fence would refuse the write anyway. When the
   * store refuses the outcome itself, the step fails with that reason instead of being run again.
   */
  private async commitOutcome(change: RunChange, lease: AttemptLease, attempt: ClaimedAttempt): Promise<boolean> {
    for (let pause = COMMIT_RETRY_MS; ; pause = Math.min(pause * 2, 1_000)) {
      try {
        return await this.commit(change);
      } catch (err) {
        if (!isRetryable(err)) return this.failUnstorable(attempt, err);
        if (lease.lost !== undefined) {
          this.deps.logger.warn({ err, instanceId: change.instanceId }, 'could not commit a step outcome before its lease ran out');
          return false;
        }
        this.deps.logger.warn({ err, instanceId: change.instanceId }, 'could not commit a step outcome; trying again');
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /** The outcome could not be stored: the step fails with that reason (never retried, never lost). */
  private async failUnstorable(attempt: ClaimedAttempt, err: unknown): Promise<boolean> {
    this.deps.logger.error({ err, stepRunId: attempt.stepRun.id }, 'a step outcome could not be stored; failing the step');
    const failure = new ActionError(`The step's outcome could not be stored: ${err instanceof Error ? err.message : String(err)}`, {
      retryable: false,
      details: { reason: 'outcome_not_storable' },
    });
    const plan = planFailure({ attempt, failure, retryDelayMs: null, now: this.deps.clock.now() });
    try {
      await this.commit(plan.change);
    } catch (again) {
      this.deps.logger.error({ err: again, stepRunId: attempt.stepRun.id }, 'could not record the failure either; the sweep takes the step over');
    }
    return false;
  }

  private async commit(change: RunChange): Promise<boolean> {
    const result = await this.deps.runs.commit(change);
    if (result.ok) this.deps.onEvents?.(result.events);
    // A change that fails the instance tells the failure handlers whether or not it applied here:
    // a missed compare-and-set may be this same change, applied by an earlier try whose answer was
    // lost. They look at the instance as stored, and start a handler at most once per failure.
    if (change.instance?.to === 'FAILED') await this.instanceFailed(change);
    if (!result.ok) {
      this.deps.logger.debug({ instanceId: change.instanceId }, 'transition lost a compare-and-set; another worker or a cancel won');
      return false;
    }
    return true;
  }

  private async instanceFailed(change: RunChange): Promise<void> {
    const stepRunId = change.steps?.[0]?.stepRunId;
    if (!stepRunId || !this.deps.onInstanceFailed) return;
    await this.deps.onInstanceFailed({ instanceId: change.instanceId, stepRunId }).catch((err: unknown) =>
      this.deps.logger.error({ err, instanceId: change.instanceId }, 'could not start the failure handler'),
    );
  }
}
