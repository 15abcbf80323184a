import { randomUUID } from 'node:crypto';
import type { IdempotencyClaim } from '../../../src/domain/idempotency.js';
import type { RunCommandStore } from '../../../src/ports/run-command.store.port.js';
import type { RunFeedStore } from '../../../src/ports/run-feed.store.port.js';
import type { RunQueryStore } from '../../../src/ports/run-query.store.port.js';
import type { InstanceRecord, StepRunRecord } from '../../../src/ports/run-records.js';
import type { RunSweepStore } from '../../../src/ports/run-sweep.store.port.js';
import type { WaitStore } from '../../../src/ports/wait.store.port.js';

/** The run-store roles of one adapter, on one store, with what a suite needs to make data. */
export interface RunStores {
  readonly commands: RunCommandStore;
  readonly queries: RunQueryStore;
  readonly feed: RunFeedStore;
  readonly sweep: RunSweepStore;
  readonly waits: WaitStore;
  /**
   * A fresh workspace with one workflow, so that tests sharing the store never see each other's
   * rows; a draft unless `status` says otherwise (ACTIVE: version 1 published).
   */
  newScope(options?: { status?: 'ACTIVE' | 'ARCHIVED' }): Promise<{ workspaceId: string; workflowId: string }>;
  /**
   * Publishes version 1 of the scope's workflow naming a failure handler: a new published workflow
   * of the same workspace, whose id it returns.
   */
  nameFailureHandler(scope: { workspaceId: string; workflowId: string }): Promise<string>;
}

export type MakeRunStores = () => Promise<RunStores & { close(): Promise<void> }>;

/** A new PENDING instance of `scope` whose first step run (`stepId`) is SCHEDULED. */
export async function newInstance(
  commands: RunCommandStore,
  scope: { workspaceId: string; workflowId: string },
  options: { stepId?: string; input?: InstanceRecord['input']; idempotencyKey?: string; idempotency?: IdempotencyClaim } = {},
): Promise<{ instance: InstanceRecord; stepRunId: string }> {
  const stepRunId = randomUUID();
  const { instance } = await commands.createInstance({
    id: randomUUID(),
    workspaceId: scope.workspaceId,
    workflowId: scope.workflowId,
    version: 1,
    input: options.input ?? { hello: 'world' },
    ...(options.idempotencyKey ? { idempotency: { source: 'graphql' as const, key: options.idempotencyKey } } : {}),
    ...(options.idempotency ? { idempotency: options.idempotency } : {}),
    firstStep: { stepRunId, stepId: options.stepId ?? 'a', stepType: 'sms.send' },
  });
  return { instance, stepRunId };
}

/** Claims the SCHEDULED first step run of a new instance as `owner` would (the executor's start commit). */
export async function claimFirst(
  commands: RunCommandStore,
  instance: InstanceRecord,
  stepRunId: string,
  options: { owner?: string; leaseMs?: number } = {},
): Promise<StepRunRecord> {
  const loaded = await commands.loadForExecution(stepRunId);
  if (!loaded) throw new Error('step run not found');
  const result = await commands.commit({
    instanceId: instance.id,
    instance: { from: 'PENDING', to: 'RUNNING', event: 'start', patch: { startedAt: new Date() } },
    steps: [
      {
        stepRunId,
        stepId: loaded.stepRun.stepId,
        from: 'SCHEDULED',
        to: 'RUNNING',
        event: 'start',
        attempt: 1,
        fence: loaded.stepRun.fence,
        claim: { owner: options.owner ?? 'worker-a', leaseMs: options.leaseMs ?? 60_000 },
        patch: { attempt: 1 },
      },
    ],
  });
  if (!result.ok) throw new Error('claim missed');
  return (await commands.loadForExecution(stepRunId))!.stepRun;
}

/**
 * A new instance of `scope` whose first step failed it at `failedAt` (its `finishedAt`): FAILED as
 * the executor records it, after a claim.
 */
export async function failedInstance(
  commands: RunCommandStore,
  scope: { workspaceId: string; workflowId: string },
  options: { failedAt: Date; idempotency?: IdempotencyClaim },
): Promise<InstanceRecord> {
  const made = await newInstance(commands, scope, options.idempotency ? { idempotency: options.idempotency } : {});
  const held = await claimFirst(commands, made.instance, made.stepRunId);
  const result = await commands.commit({
    instanceId: made.instance.id,
    instance: {
      from: 'RUNNING',
      to: 'FAILED',
      event: 'fail',
      patch: { finishedAt: options.failedAt, currentStepId: null, error: { stepId: 'a', attempt: 1, reason: 'down' } },
    },
    steps: [
      {
        stepRunId: made.stepRunId,
        stepId: 'a',
        from: 'RUNNING',
        to: 'FAILED',
        event: 'fail',
        attempt: 1,
        fence: held.fence,
        patch: { error: { message: 'down', retryable: false }, leaseUntil: null, finishedAt: options.failedAt },
      },
    ],
  });
  if (!result.ok) throw new Error('fail missed');
  return (await commands.loadForExecution(made.stepRunId))!.instance;
}

/** Polls `read` until `done` holds; other writers on a shared database may hold the feed's horizon back a moment. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
