import type { Step as DomainStep } from '../../domain/graph.js';
import type { JsonObject } from '../../domain/json.js';
import type {
  HistoryEntrySummary as StoredEntry,
  StepHead,
  WorkflowRecord,
  WorkflowVersionHead,
  WorkflowVersionRecord,
} from '../../ports/workflow.store.port.js';
import { HistoryEntry, Step, Workflow, WorkflowStatus, WorkflowVersion } from './workflow.type.js';

export const toWorkflow = (r: WorkflowRecord): Workflow =>
  Object.assign(new Workflow(), { ...r, status: r.status as WorkflowStatus });

export const toStep = (s: DomainStep): Step =>
  Object.assign(new Step(), { ...s, position: { x: s.position.x, y: s.position.y } });

/** A draft step as listed, with its config when it was read with the page. */
export const toStepOfDraft = (workflowId: string, s: StepHead, config: JsonObject | undefined): Step =>
  Object.assign(new Step(), {
    id: s.id,
    type: s.type,
    name: s.name,
    position: { x: s.position.x, y: s.position.y },
    workflowId,
    configBytes: s.configBytes,
    config,
  });

export const toHistoryEntry = (e: StoredEntry, head: number): HistoryEntry =>
  Object.assign(new HistoryEntry(), {
    seq: e.seq,
    label: e.label,
    undone: e.seq > head,
    actorKeyId: e.actorKeyId,
    createdAt: e.createdAt,
  });

/** A version whose graph is read when asked for. */
export const toVersionHead = (v: WorkflowVersionHead): WorkflowVersion =>
  Object.assign(new WorkflowVersion(), {
    workflowId: v.workflowId,
    version: v.version,
    draftRevision: v.draftRevision,
    failureHandlerWorkflowId: v.failureHandlerWorkflowId,
    repliesAlsoStartWorkflows: v.repliesAlsoStartWorkflows,
    createdAt: v.createdAt,
    graphBytes: v.graphBytes,
  });

/** A version with its graph at hand. */
export const toVersion = (v: WorkflowVersionRecord): WorkflowVersion =>
  Object.assign(new WorkflowVersion(), {
    workflowId: v.workflowId,
    version: v.version,
    draftRevision: v.draftRevision,
    failureHandlerWorkflowId: v.failureHandlerWorkflowId,
    repliesAlsoStartWorkflows: v.repliesAlsoStartWorkflows,
    createdAt: v.createdAt,
    steps: v.graph.steps.map(toStep),
    edges: v.graph.edges.map((e) => ({ ...e })),
  });
