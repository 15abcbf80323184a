import type { Step as DomainStep } from '../../domain/graph.js';
import type { HistoryEntrySummary as StoredEntry, WorkflowRecord, WorkflowVersionRecord } from '../../ports/workflow.store.port.js';
import { HistoryEntry, Step, Workflow, WorkflowStatus, WorkflowVersion } from './workflow.type.js';

export const toWorkflow = (r: WorkflowRecord): Workflow =>
  Object.assign(new Workflow(), { ...r, status: r.status as WorkflowStatus });

export const toStep = (s: DomainStep): Step =>
  Object.assign(new Step(), { ...s, position: { x: s.position.x, y: s.position.y } });

export const toHistoryEntry = (e: StoredEntry, head: number): HistoryEntry =>
  Object.assign(new HistoryEntry(), {
    seq: e.seq,
    label: e.label,
    undone: e.seq > head,
    actorKeyId: e.actorKeyId,
    createdAt: e.createdAt,
  });

export const toVersion = (v: WorkflowVersionRecord): WorkflowVersion =>
  Object.assign(new WorkflowVersion(), {
    workflowId: v.workflowId,
    version: v.version,
    draftRevision: v.draftRevision,
    createdAt: v.createdAt,
    steps: v.graph.steps.map(toStep),
    edges: v.graph.edges.map((e) => ({ ...e })),
  });
