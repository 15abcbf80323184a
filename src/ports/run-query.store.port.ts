import type { InstanceStatus } from '../domain/run-state-machine.js';
import type { Page, PageRequest } from './page.js';
import type { JsonValue } from '../domain/json.js';
import type { TriggerInputMatch } from '../domain/trigger-input-match.js';
import type { InstanceEventRecord, InstanceHead, InstanceRecord, StepRunRecord } from './run-records.js';

/** Which instances a list holds. */
export interface InstanceFilter {
  readonly workflowId: string;
  readonly status?: InstanceStatus;
  readonly triggerInput?: TriggerInputMatch;
}

/** Reads of runs for the API: instances, their step runs and event logs, scoped by the caller. */
export interface RunQueryStore {
  getInstance(workspaceId: string, id: string): Promise<InstanceRecord | undefined>;
  /**
   * A workflow's instances in the workspace, newest first (creation time, then id), with the
   * filter's total. Paged by the cursors it gives; `triggerInput` keeps those whose input holds
   * the match exactly as `triggerInputMatches` says, and is answered from an index, not a scan of
   * the workflow's inputs.
   */
  listInstances(workspaceId: string, filter: InstanceFilter, page: PageRequest): Promise<Page<InstanceHead>>;
  /** Trigger inputs of these instances, by id. */
  readInputs(instanceIds: readonly string[]): Promise<Map<string, JsonValue>>;
  countByStatus(workflowId: string): Promise<Partial<Record<InstanceStatus, number>>>;
  listStepRuns(instanceId: string): Promise<StepRunRecord[]>;
  /** Step runs not yet finished (SCHEDULED, RETRYING, RUNNING) of an instance. */
  activeStepRuns(instanceId: string): Promise<StepRunRecord[]>;
  /** The newest FAILED step run of an instance. */
  failedStepRun(instanceId: string): Promise<StepRunRecord | undefined>;
  listEvents(instanceId: string, page: { afterSeq: number; first: number }): Promise<InstanceEventRecord[]>;
  /**
   * The events of these step runs of an instance (all of its step runs without `stepRunIds`), in
   * log order: what their attempts are read from.
   */
  listStepRunEvents(instanceId: string, stepRunIds?: readonly string[]): Promise<InstanceEventRecord[]>;
}
