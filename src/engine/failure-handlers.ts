import type { JsonObject } from '../domain/json.js';
import type { RunCommandStore } from '../ports/run-command.store.port.js';
import type { InstanceRecord } from '../ports/run-records.js';
import type { InstanceFailedNotice } from './engine-deps.js';
import type { VersionCache } from './version-cache.js';
import type { WorkflowRunner } from './workflow-runner.js';

/** The idempotency key of the handler run started for one failure of one instance. */
export const failureHandlerKey = (failed: Pick<InstanceRecord, 'id' | 'eventSeq'>): string => `${failed.id}:${failed.eventSeq}`;

/**
 * The trigger input of a failure handler's run: which instance failed, where and why. Templates of
 * the handler read it as `{{trigger.instanceId}}`, `{{trigger.reason}}`, ...
 */
export const failureHandlerInput = (failed: InstanceRecord): JsonObject => ({
  instanceId: failed.id,
  workflowId: failed.workflowId,
  version: failed.version,
  stepId: failed.error?.stepId ?? null,
  attempt: failed.error?.attempt ?? null,
  reason: failed.error?.reason ?? null,
  failedAt: (failed.finishedAt ?? failed.updatedAt).toISOString(),
});

export interface FailureHandlersOptions {
  readonly runs: Pick<RunCommandStore, 'loadForExecution'>;
  readonly versions: Pick<VersionCache, 'get'>;
  readonly runner: Pick<WorkflowRunner, 'start'>;
}

/**
 * Starts a workflow's failure handler when one of its instances fails: once per failure, since
 * the start's idempotency key (source `failure-handler`) is the failed instance's id and the seq
 * of its newest event, which a FAILED instance keeps until `retryInstance` moves it on (a failure
 * after a retry is a new failure, with a new key). Told of a failure more than once (a commit
 * tried again, a redelivered job), it finds the same key and starts nothing more.
 *
 * The handler is the one named by the failed instance's version. A handler's own runs (started
 * from source `failure-handler`) start no handler when they fail, so handlers never chain or
 * start themselves.
 */
export class FailureHandlers {
  constructor(private readonly options: FailureHandlersOptions) {}

  async afterFailure(notice: InstanceFailedNotice): Promise<void> {
    const loaded = await this.options.runs.loadForExecution(notice.stepRunId);
    const failed = loaded?.instance;
    if (!failed || failed.id !== notice.instanceId) return;
    await this.startFor(failed);
  }

  /**
   * Starts the handler of this failure, as read from the store (the sweep's repair of a start that
   * was lost comes here too, so both ask with the same key and at most one run is started).
   * Does nothing if the instance is not FAILED, is a handler run, or its version names no handler.
   * True when this call started the run (false when it did nothing or found the run started).
   */
  async startFor(failed: InstanceRecord): Promise<boolean> {
    if (failed.status !== 'FAILED') return false;
    if (failed.idempotencySource === 'failure-handler') return false;
    const version = await this.options.versions.get(failed.workflowId, failed.version);
    const handlerId = version.failureHandlerWorkflowId;
    if (!handlerId) return false;
    const { created } = await this.options.runner.start(
      { workspaceId: failed.workspaceId },
      {
        workflowId: handlerId,
        input: failureHandlerInput(failed),
        idempotency: { source: 'failure-handler', key: failureHandlerKey(failed) },
      },
    );
    return created;
  }
}
