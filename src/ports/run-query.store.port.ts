import type { InstanceStatus } from '../domain/run-state-machine.js';
import type { Page, PageRequest } from './page.js';
import type { JsonValue } from '../domain/json.js';
import type { InstanceEventRecord, InstanceHead, InstanceRecord, StepRunRecord } from './run-records.js';

/** Reads of runs for the API: instances, their step runs and event logs, scoped by the caller. */
export interface RunQueryStore {
  getInstance(workspaceId: string, id: string): Promise<InstanceRecord | undefined>;
  listInstances(
    workspaceId: string,
    filter: { workflowId: string; status?: InstanceStatus },
    page: PageRequest,
  ): Promise<Page<InstanceHead>>;
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
