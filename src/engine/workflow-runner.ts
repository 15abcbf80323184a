import { randomUUID } from 'node:crypto';
import { AppError, ErrorCode, badInput, invalidState, notFound } from '../domain/errors.js';
import { MAX_IDEMPOTENCY_KEY_CHARS, type IdempotencyClaim } from '../domain/idempotency.js';
import type { JsonValue } from '../domain/json.js';
import { jsonByteLength } from '../domain/json-size.js';
import type { RunQueryStore } from '../ports/run-query.store.port.js';
import type { InstanceRecord, NewInstance, RunChange } from '../ports/run-records.js';
import type { WorkflowStore } from '../ports/workflow.store.port.js';
import type { EngineDeps } from './engine-deps.js';
import { instanceMove, stepMove } from './transitions.js';

export interface WorkflowRunnerOptions {
  readonly deps: EngineDeps;
  readonly queries: Pick<RunQueryStore, 'getInstance' | 'activeStepRuns' | 'failedStepRun'>;
  readonly workflows: WorkflowStore;
  /** Largest trigger input accepted, as bytes of JSON. */
  readonly maxInputBytes: number;
}

/** First steps of a startMany enqueued at once. */
const ENQUEUE_LANES = 16;

/** Who asks: the workspace every lookup is scoped to. */
export interface RunActor {
  readonly workspaceId: string;
}

/** Starts, cancels and retries workflow instances. */
export class WorkflowRunner {
  constructor(private readonly options: WorkflowRunnerOptions) {}

  /**
   * Starts an instance of the workflow's newest published version (or of `version`, a published
   * one: a schedule's tick starts the version that scheduled it). The same idempotency key from
   * the same source returns the instance it started first.
   */
  async start(
    actor: RunActor,
    args: { workflowId: string; input: JsonValue; idempotency?: IdempotencyClaim; version?: number },
  ): Promise<{ instance: InstanceRecord; created: boolean }> {
    const { deps } = this.options;
    const wf = await this.options.workflows.get(actor.workspaceId, args.workflowId);
    if (!wf) throw notFound('Workflow', args.workflowId);
    if (wf.status !== 'ACTIVE' || wf.latestVersion === null) {
      throw invalidState(
        wf.status === 'ARCHIVED' ? 'The workflow is archived' : 'The workflow has no published version; publish it first',
        { status: wf.status },
      );
    }
    this.checkInput(args);
    const versionNumber = args.version ?? wf.latestVersion;
    if (versionNumber < 1 || versionNumber > wf.latestVersion) throw notFound('Version', String(versionNumber));
    const version = await deps.versions.get(wf.id, versionNumber);
    const trigger = version.triggerId ? version.step(version.triggerId) : undefined;
    if (!trigger) throw invalidState('The published version has no trigger');
    const stepRunId = randomUUID();
    const { instance, created, events } = await deps.runs.createInstance({
      id: randomUUID(),
      workspaceId: actor.workspaceId,
      workflowId: wf.id,
      version: versionNumber,
      input: args.input,
      idempotency: args.idempotency,
      firstStep: { stepRunId, stepId: trigger.id, stepType: trigger.type },
    });
    if (created) {
      deps.onEvents?.(events);
      await deps.scheduler.enqueue(stepRunId);
    }
    return { instance, created };
  }

  /**
   * Starts many instances of given published versions at once (a schedule's due ticks): one
   * statement creates them all, then their first steps are enqueued. Answers in order: what
   * {@link start} answers, or the AppError that refused that one (the others go on). A workflow
   * archived meanwhile starts nothing.
   */
  async startMany(
    starts: readonly { workspaceId: string; workflowId: string; version: number; input: JsonValue; idempotency?: IdempotencyClaim }[],
    options: {
      /**
       * Given, the created instances' first step runs (due now) are handed to it instead of being
       * enqueued: the caller runs them here (see LocalStarts).
       */
      runHere?: (stepRunIds: readonly string[]) => void;
    } = {},
  ): Promise<({ instance: InstanceRecord; created: boolean } | AppError)[]> {
    const { deps } = this.options;
    const outcomes: ({ instance: InstanceRecord; created: boolean } | AppError | undefined)[] = starts.map(() => undefined);
    const inputs: NewInstance[] = [];
    const positions: number[] = [];
    await Promise.all(
      starts.map(async (start, index) => {
        try {
          this.checkInput(start);
          const version = await deps.versions.get(start.workflowId, start.version);
          const trigger = version.triggerId ? version.step(version.triggerId) : undefined;
          if (!trigger) throw invalidState('The published version has no trigger');
          inputs.push({
            id: randomUUID(),
            workspaceId: start.workspaceId,
            workflowId: start.workflowId,
            version: start.version,
            input: start.input,
            idempotency: start.idempotency,
            firstStep: { stepRunId: randomUUID(), stepId: trigger.id, stepType: trigger.type },
          });
          positions.push(index);
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          outcomes[index] = err;
        }
      }),
    );
    const results = await deps.runs.createInstances(inputs);
    const enqueue: string[] = [];
    results.forEach((result, j) => {
      const index = positions[j]!;
      if (!result) {
        outcomes[index] = invalidState('The workflow is archived or no longer active');
        return;
      }
      outcomes[index] = { instance: result.instance, created: result.created };
      if (result.created) {
        deps.onEvents?.(result.events);
        enqueue.push(inputs[j]!.firstStep.stepRunId);
      }
    });
    if (options.runHere) {
      options.runHere(enqueue);
      return outcomes.map((o) => o!);
    }
    let next = 0;
    const lane = async () => {
      while (next < enqueue.length) await deps.scheduler.enqueue(enqueue[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(ENQUEUE_LANES, enqueue.length) }, lane));
    return outcomes.map((o) => o!);
  }

  private checkInput(args: { input: JsonValue; idempotency?: IdempotencyClaim }): void {
    const key = args.idempotency?.key;
    if (key !== undefined && (key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_CHARS)) {
      throw badInput(`An idempotency key has 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} characters`, 'idempotencyKey');
    }
    const size = jsonByteLength(args.input);
    if (size > this.options.maxInputBytes) {
      throw new AppError(ErrorCode.LIMIT_EXCEEDED, `The input is ${size} bytes; at most ${this.options.maxInputBytes} are accepted`, {
        field: 'input',
        limit: this.options.maxInputBytes,
      });
    }
  }

  /** Stops a pending, running or waiting instance and removes its pending jobs. */
  async cancel(actor: RunActor, instanceId: string): Promise<InstanceRecord> {
    const { deps } = this.options;
    for (let attempt = 0; attempt < 5; attempt++) {
      const instance = await this.get(actor, instanceId);
      if (instance.status === 'CANCELLED') return instance;
      if (!['PENDING', 'RUNNING', 'WAITING'].includes(instance.status)) {
        throw invalidState(`A ${instance.status.toLowerCase()} instance cannot be cancelled`, { status: instance.status });
      }
      const active = await this.options.queries.activeStepRuns(instance.id);
      const now = deps.clock.now();
      const change: RunChange = {
        instanceId: instance.id,
        instance: { ...instanceMove(instance.status, 'cancel'), patch: { finishedAt: now, currentStepId: null } },
        steps: active.map((s) => ({
          stepRunId: s.id,
          stepId: s.stepId,
          ...stepMove(s.status, 'cancel'),
          attempt: s.attempt,
          patch: { finishedAt: now, leaseUntil: null },
        })),
      };
      const result = await deps.runs.commit(change);
      if (result.ok) {
        deps.onEvents?.(result.events);
        await deps.scheduler.cancel(active.map((s) => s.id));
        return this.get(actor, instanceId);
      }
      // A step moved meanwhile; look again.
    }
    throw invalidState('The instance kept changing; try cancelling again');
  }

  /** Re-runs a failed instance from its failed step; outputs of earlier steps are kept. */
  async retry(actor: RunActor, instanceId: string): Promise<InstanceRecord> {
    const { deps } = this.options;
    const instance = await this.get(actor, instanceId);
    if (instance.status !== 'FAILED') {
      throw invalidState(`Only a failed instance can be retried; this one is ${instance.status.toLowerCase()}`, {
        status: instance.status,
      });
    }
    const failed = await this.options.queries.failedStepRun(instance.id);
    if (!failed) throw invalidState('The instance has no failed step to retry');
    const now = deps.clock.now();
    const result = await deps.runs.commit({
      instanceId: instance.id,
      instance: {
        ...instanceMove('FAILED', 'retry'),
        patch: { finishedAt: null, error: null, currentStepId: failed.stepId },
      },
      steps: [
        {
          stepRunId: failed.id,
          stepId: failed.stepId,
          ...stepMove('FAILED', 'reschedule'),
          // Attempt numbers go on counting (the earlier attempts stay listed); the retry policy
          // starts afresh from here.
          attempt: failed.attempt,
          patch: { attemptsBeforeRetry: failed.attempt, error: null, dueAt: now, enqueuedAt: now, finishedAt: null, lostCount: 0, handbackCount: 0 },
        },
      ],
    });
    if (!result.ok) throw invalidState('The instance changed meanwhile; reload it and try again');
    deps.onEvents?.(result.events);
    await deps.scheduler.enqueue(failed.id);
    return this.get(actor, instanceId);
  }

  private async get(actor: RunActor, id: string): Promise<InstanceRecord> {
    const instance = await this.options.queries.getInstance(actor.workspaceId, id);
    if (!instance) throw notFound('Instance', id);
    return instance;
  }
}
