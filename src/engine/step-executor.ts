import { randomUUID } from 'node:crypto';
import type { ActionResult } from '../actions/action-definition.js';
import { ActionError, toActionError } from '../actions/action-error.js';
import type { JsonValue } from '../domain/json.js';
import { nextRetryDelay } from '../domain/retry-policy.js';
import { isRunnableStep, isTerminalInstance } from '../domain/run-state-machine.js';
import type { RunContext } from '../domain/run-context.js';
import type { InstanceRecord, RunChange, StepRunRecord } from '../ports/run.store.port.js';
import type { CompiledVersion } from './compiled-version.js';
import type { EngineDeps } from './engine-deps.js';
import { HandoffCache } from './handoff-cache.js';
import { instanceMove, stepMove } from './transitions.js';

/** A job that arrives this much before its due time is put back rather than run early. */
const EARLY_TOLERANCE_MS = 20;
/** A worker that vanished this often while running one step fails it: the step itself may crash workers. */
export const MAX_LOST_WORKERS = 3;

/**
 * Runs one step job: loads the step run, claims it with a compare-and-set (so a job delivered
 * twice runs the step once), runs the action outside any transaction while extending its lease,
 * then commits the outcome and schedules what comes next.
 */
export class StepExecutor {
  /** Next steps this worker scheduled, so their start need not read back what it just wrote. */
  private readonly handoffs: HandoffCache;

  constructor(private readonly deps: EngineDeps) {
    this.handoffs = new HandoffCache({ maxEntries: 10_000, maxAgeMs: 30_000, now: () => deps.clock.now().getTime() });
  }

  async execute(stepRunId: string): Promise<void> {
    const { runs, clock } = this.deps;
    const loaded = this.handoffs.take(stepRunId) ?? (await runs.loadForExecution(stepRunId));
    if (!loaded) return;
    const { stepRun, instance } = loaded;
    // Late or repeated delivery: someone else ran it, or the instance ended.
    if (!isRunnableStep(stepRun.status) || isTerminalInstance(instance.status)) return;
    const now = clock.now();
    if (stepRun.dueAt.getTime() - now.getTime() > EARLY_TOLERANCE_MS) {
      await this.deps.scheduler.enqueue(stepRun.id, stepRun.dueAt);
      return;
    }

    const version = await this.deps.versions.get(instance.workflowId, instance.version);
    const step = version.step(stepRun.stepId);
    const definition = step && this.deps.registry.get(step.type);
    const attempt = stepRun.attempt + 1;
    const leaseUntil = new Date(now.getTime() + this.deps.timings.leaseMs);

    const started = await this.commit({
      instanceId: instance.id,
      instance:
        instance.status === 'PENDING'
          ? { ...instanceMove('PENDING', 'start'), patch: { startedAt: now, currentStepId: stepRun.stepId } }
          : instance.status === 'WAITING'
            ? { ...instanceMove('WAITING', 'resume'), patch: { currentStepId: stepRun.stepId } }
            : undefined,
      instancePatch: { currentStepId: stepRun.stepId },
      steps: [
        {
          stepRunId: stepRun.id,
          stepId: stepRun.stepId,
          ...stepMove(stepRun.status, 'start'),
          attempt,
          patch: {
            attempt,
            leaseUntil,
            startedAt: stepRun.startedAt ?? now,
            ...(attempt === 1 && step ? { input: step.config } : {}),
          },
          detail: stepRun.resumed ? { resumed: true } : undefined,
        },
      ],
    });
    if (!started) return;
    const running: StepRunRecord = { ...stepRun, status: 'RUNNING', attempt, leaseUntil };
    const runningInstance: InstanceRecord = { ...instance, status: 'RUNNING' };

    let result: ActionResult | undefined;
    let failure: ActionError | undefined;
    if (!step || !definition) {
      failure = new ActionError(
        step ? `Step type '${step.type}' is not available on this server` : `Step '${stepRun.stepId}' is not in the version`,
        { retryable: false },
      );
    } else {
      const context = await this.context(runningInstance, version, stepRun.stepId);
      const abort = new AbortController();
      const stopLease = this.keepLease(running, abort);
      const timeout = setTimeout(() => abort.abort(new Error('step timed out')), this.deps.timings.stepTimeoutMs);
      try {
        result = await definition.run({
          config: step.config,
          context,
          stepId: step.id,
          attempt,
          resumedAfterWait: stepRun.resumed,
          signal: abort.signal,
          services: this.deps.services,
        });
      } catch (err) {
        failure = toActionError(err);
      } finally {
        clearTimeout(timeout);
        stopLease();
      }
    }

    if (failure) {
      await this.onFailure({ instance: runningInstance, stepRun: running, failure, version });
    } else if (result) {
      await this.onResult({ instance: runningInstance, stepRun: running, result, version });
    }
  }

  private async onResult(args: {
    instance: InstanceRecord;
    stepRun: StepRunRecord;
    result: ActionResult;
    version: CompiledVersion;
  }): Promise<void> {
    const { instance, stepRun, result, version } = args;
    const now = this.deps.clock.now();
    const base = { stepRunId: stepRun.id, stepId: stepRun.stepId, attempt: stepRun.attempt };

    if (result.kind === 'wait') {
      const ok = await this.commit({
        instanceId: instance.id,
        instance: { ...instanceMove('RUNNING', 'wait'), detail: { until: result.until.toISOString() } },
        steps: [
          {
            ...base,
            ...stepMove('RUNNING', 'wait'),
            patch: { dueAt: result.until, enqueuedAt: now, resumed: true, leaseUntil: null, output: result.output },
            detail: { until: result.until.toISOString() },
          },
        ],
      });
      if (ok) await this.deps.scheduler.enqueue(stepRun.id, result.until);
      return;
    }

    const output = result.output;
    const nextStepId = result.kind === 'continue' ? version.target(stepRun.stepId, result.port) : undefined;
    const done = { ...base, ...stepMove('RUNNING', 'succeed'), patch: { output, leaseUntil: null, finishedAt: now, error: null } };
    const port = result.kind === 'continue' ? result.port : undefined;
    const skipped = port ? this.unreachableAfter(version, stepRun.stepId, port) : [];

    if (!nextStepId) {
      await this.commit({
        instanceId: instance.id,
        instance: { ...instanceMove('RUNNING', 'complete'), patch: { finishedAt: now, currentStepId: null } },
        steps: [{ ...done, detail: port ? { port } : undefined }],
        newStepRuns: skipped.map((s) => ({ id: randomUUID(), stepId: s.id, stepType: s.type, status: 'SKIPPED' as const, dueAt: now })),
      });
      return;
    }
    const next = version.step(nextStepId)!;
    const nextRunId = randomUUID();
    const ok = await this.commit({
      instanceId: instance.id,
      steps: [{ ...done, detail: { port: port! } }],
      newStepRuns: [
        ...skipped.map((s) => ({ id: randomUUID(), stepId: s.id, stepType: s.type, status: 'SKIPPED' as const, dueAt: now })),
        { id: nextRunId, stepId: next.id, stepType: next.type, status: 'SCHEDULED' as const, dueAt: now },
      ],
    });
    if (!ok) return;
    this.handoffs.put({
      instance,
      stepRun: {
        id: nextRunId,
        instanceId: instance.id,
        stepId: next.id,
        stepType: next.type,
        status: 'SCHEDULED',
        attempt: 0,
        input: null,
        output: null,
        error: null,
        dueAt: now,
        leaseUntil: null,
        resumed: false,
        lostCount: 0,
        createdAt: now,
        startedAt: null,
        finishedAt: null,
      },
    });
    await this.deps.scheduler.enqueue(nextRunId);
  }

  private async onFailure(args: {
    instance: InstanceRecord;
    stepRun: StepRunRecord;
    failure: ActionError;
    version: CompiledVersion;
  }): Promise<void> {
    const { instance, stepRun, failure, version } = args;
    const now = this.deps.clock.now();
    const error = { message: failure.message, retryable: failure.retryable, details: failure.details };
    const step = version.step(stepRun.stepId);
    const policy = step && this.deps.registry.get(step.type)?.retryPolicy(step.config);
    const delay = failure.retryable && policy ? nextRetryDelay(policy, stepRun.attempt, Math.random) : null;
    const base = { stepRunId: stepRun.id, stepId: stepRun.stepId, attempt: stepRun.attempt };

    if (delay !== null) {
      const dueAt = new Date(now.getTime() + delay);
      const ok = await this.commit({
        instanceId: instance.id,
        steps: [
          {
            ...base,
            ...stepMove('RUNNING', 'retry'),
            patch: { error, dueAt, enqueuedAt: now, leaseUntil: null },
            detail: { reason: failure.message, retryAt: dueAt.toISOString() },
          },
        ],
      });
      if (ok) await this.deps.scheduler.enqueue(stepRun.id, dueAt);
      return;
    }
    await this.commit({
      instanceId: instance.id,
      instance: {
        ...instanceMove('RUNNING', 'fail'),
        patch: {
          finishedAt: now,
          error: { stepId: stepRun.stepId, attempt: stepRun.attempt, reason: failure.message, details: failure.details },
        },
        detail: { stepId: stepRun.stepId, attempt: stepRun.attempt, reason: failure.message },
      },
      steps: [
        {
          ...base,
          ...stepMove('RUNNING', 'fail'),
          patch: { error, leaseUntil: null, finishedAt: now },
          detail: { reason: failure.message },
        },
      ],
    });
  }

  /**
   * Targets of the ports a branching step did not take whose every incoming edge comes from
   * those ports: they can no longer run in this instance, so they are recorded as SKIPPED.
   */
  private unreachableAfter(version: CompiledVersion, stepId: string, taken: string) {
    const outgoing = version.outgoing(stepId);
    if (outgoing.length < 2) return [];
    const result = [];
    for (const edge of outgoing) {
      if (edge.port === taken || edge.to === version.target(stepId, taken)) continue;
      if (version.incoming(edge.to).every((e) => e.from === stepId && e.port !== taken)) {
        const s = version.step(edge.to);
        if (s) result.push(s);
      }
    }
    return result;
  }

  private async context(instance: InstanceRecord, version: CompiledVersion, stepId: string): Promise<RunContext> {
    const outputs = await this.deps.runs.outputsOf(instance.id, version.referencedSteps(stepId));
    const steps: Record<string, { output: JsonValue }> = {};
    for (const [id, output] of Object.entries(outputs)) steps[id] = { output };
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

  /** Extends the lease while the action runs; aborts the action if the step was taken away. */
  private keepLease(stepRun: StepRunRecord, abort: AbortController): () => void {
    const { leaseMs } = this.deps.timings;
    const timer = setInterval(() => {
      const until = new Date(this.deps.clock.now().getTime() + leaseMs);
      this.deps.runs.extendLease(stepRun.id, stepRun.attempt, until).then(
        (held) => {
          if (!held) abort.abort(new Error('step was cancelled or taken over'));
        },
        (err: unknown) => this.deps.logger.warn({ err, stepRunId: stepRun.id }, 'could not extend step lease'),
      );
    }, Math.max(50, Math.floor(leaseMs / 3)));
    timer.unref();
    return () => clearInterval(timer);
  }

  private async commit(change: RunChange): Promise<boolean> {
    const result = await this.deps.runs.commit(change);
    if (!result.ok) {
      this.deps.logger.debug({ instanceId: change.instanceId }, 'transition lost a compare-and-set; another worker or a cancel won');
      return false;
    }
    this.deps.onEvents?.(result.events);
    return true;
  }
}

