import type { EditOp } from '../domain/edit-op.js';
import type { Edge, Graph, Step } from '../domain/graph.js';
import type { JsonObject } from '../domain/json.js';
import type { Page, PageRequest } from './page.js';
import type { NewSchedule, ScheduleRecord } from './schedule.store.port.js';

export type WorkflowStatus = 'DRAFT' | 'ACTIVE' | 'ARCHIVED';

/** A workflow as stored: its metadata and the head of its draft. */
export interface WorkflowRecord {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly description: string;
  readonly status: WorkflowStatus;
  readonly draftRevision: number;
  /** Seq of the newest applied history entry; 0 when nothing can be undone. */
  readonly historyHead: number;
  readonly stepCount: number;
  readonly latestVersion: number | null;
  /** The workflow started when an instance fails, as the draft names it (published with each version). */
  readonly failureHandlerWorkflowId: string | null;
  /** Whether a reply that ends a wait of an instance also starts workflows, as the draft says (published with each version). */
  readonly repliesAlsoStartWorkflows: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** One undoable change of a draft. */
export interface HistoryEntry {
  readonly seq: number;
  readonly label: string;
  readonly forward: readonly EditOp[];
  readonly inverse: readonly EditOp[];
  readonly actorKeyId: string | null;
  readonly createdAt: Date;
}

/** A history entry as listed: without its ops. */
export type HistoryEntrySummary = Omit<HistoryEntry, 'forward' | 'inverse'>;

/** A history entry to append after `head`, in a history kept to `depth` entries. */
export type NewHistoryEntry = Pick<HistoryEntry, 'label' | 'forward' | 'inverse' | 'actorKeyId'> & {
  readonly head: number;
  readonly depth: number;
};

/** Whether a history entry has neighbours: entries at seq - 1 and seq + 1. */
export interface HistoryNeighbours {
  readonly hasPrevious: boolean;
  readonly hasNext: boolean;
}

/** An immutable published graph. */
export interface WorkflowVersionRecord {
  readonly workflowId: string;
  readonly version: number;
  readonly graph: Graph;
  readonly draftRevision: number;
  readonly publishedBy: string | null;
  /** The failure handler the draft named when this version was published; its instances use it. */
  readonly failureHandlerWorkflowId: string | null;
  /** The draft's repliesAlsoStartWorkflows when this version was published; its instances use it. */
  readonly repliesAlsoStartWorkflows: boolean;
  readonly createdAt: Date;
}

/** The steps of a draft plus every edge that touches them. */
export interface StepsWithEdges {
  readonly steps: readonly Step[];
  readonly edges: readonly Edge[];
}

/** What changes on the workflow row at the end of a draft session. */
export interface WorkflowHeadUpdate {
  readonly draftRevision?: number;
  readonly historyHead?: number;
  readonly stepCountDelta?: number;
  readonly status?: WorkflowStatus;
  readonly latestVersion?: number;
  readonly name?: string;
  readonly description?: string;
  /** Null removes the failure handler. */
  readonly failureHandlerWorkflowId?: string | null;
  readonly repliesAlsoStartWorkflows?: boolean;
}

/** A workflow named by its id and name (a refusal lists them). */
export interface WorkflowReference {
  readonly id: string;
  readonly name: string;
}

/** What {@link DraftSession.deleteWorkflow} did. */
export type WorkflowDeletion =
  | { readonly deleted: true; readonly instances: number }
  | { readonly deleted: false; readonly activeInstances: number };

/**
 * A transaction holding the workflow row locked: everything done through it commits together or
 * not at all, and no other session edits the same draft meanwhile.
 */
export interface DraftSession {
  readonly workflow: WorkflowRecord;
  /** Loads the given steps (those that exist) with all their incoming and outgoing edges. */
  loadSteps(ids: readonly string[]): Promise<StepsWithEdges>;
  /** The whole draft graph, for publishing and reverting. */
  loadGraph(): Promise<Graph>;
  /** Applies primitive ops row by row (consecutive ops of one kind batched). */
  applyOps(ops: readonly EditOp[]): Promise<void>;
  /** The entry with this seq, and whether entries exist just before and after it (for canUndo/canRedo). */
  historyEntry(seq: number): Promise<(HistoryEntry & HistoryNeighbours) | undefined>;
  /** Whether an entry exists with this seq (for canUndo/canRedo after the change). */
  hasHistoryEntry(seq: number): Promise<boolean>;
  /**
   * Drops every entry above `head` (what could be redone), appends one at head+1, prunes to
   * `depth` and moves the workflow's history head to the new entry with `update` applied too.
   */
  pushHistory(
    entry: NewHistoryEntry,
    update: Omit<WorkflowHeadUpdate, 'historyHead'>,
  ): Promise<WorkflowRecord>;
  insertVersion(version: Omit<WorkflowVersionRecord, 'createdAt'>): Promise<WorkflowVersionRecord>;
  getVersion(version: number): Promise<WorkflowVersionRecord | undefined>;
  updateHead(update: WorkflowHeadUpdate): Promise<WorkflowRecord>;
  /** Another workflow of the same workspace, read in this transaction (a failure handler); undefined when none. */
  getSibling(id: string): Promise<WorkflowRecord | undefined>;
  /** The workflow's schedule as it stands, read in this transaction; undefined when it has none. */
  getSchedule(): Promise<ScheduleRecord | undefined>;
  /** Replaces the workflow's schedule (a claim on the old one is dropped); null removes it. */
  setSchedule(schedule: NewSchedule | null): Promise<void>;
  /**
   * The other workflows of the workspace that would still start this one as their failure
   * handler, oldest first: those not archived whose draft or newest published version names it,
   * and any with an instance in progress (PENDING, RUNNING, WAITING) of a version that names it.
   */
  failureHandlerReferences(): Promise<readonly WorkflowReference[]>;
  /**
   * Deletes the workflow and everything that is only its, in this transaction: its schedule
   * first, then its instances with their step runs, events, waits and recorded messages, then
   * its versions, draft, history, webhook and trigger-index rows. Deletes nothing while one of
   * its instances is in progress (PENDING, RUNNING, WAITING) — counted again as the instances go,
   * so that one retried meanwhile is never deleted mid-run — and says how many are. Once it has
   * deleted, the session's workflow no longer exists: nothing more may be done with it.
   */
  deleteWorkflow(): Promise<WorkflowDeletion>;
}

/**
 * A draft step as listed: its config is read on its own (WorkflowStore.readStepConfigs), and
 * `configBytes` says how large it is (as JSON text) before it is.
 */
export type StepHead = Omit<Step, 'config'> & { readonly configBytes: number };

/** A published version without its graph; `graphBytes` says how large the graph is (as JSON text). */
export type WorkflowVersionHead = Omit<WorkflowVersionRecord, 'graph'> & { readonly graphBytes: number };

/** Durable storage of workflows, their drafts, history and versions, scoped to a workspace. */
export interface WorkflowStore {
  create(input: { workspaceId: string; name: string; description: string }): Promise<WorkflowRecord>;
  /** Undefined when absent or of another workspace. */
  get(workspaceId: string, id: string): Promise<WorkflowRecord | undefined>;
  list(workspaceId: string, filter: { status?: WorkflowStatus }, page: PageRequest): Promise<Page<WorkflowRecord>>;
  /** Runs `fn` in a transaction with the workflow locked; NOT_FOUND when absent or of another workspace. */
  withDraft<T>(workspaceId: string, id: string, fn: (session: DraftSession) => Promise<T>): Promise<T>;
  /** The whole draft graph, read without locking (a snapshot for validation). */
  loadGraph(workflowId: string): Promise<Graph>;
  listSteps(workflowId: string, page: PageRequest): Promise<Page<StepHead>>;
  /** Configs of these draft steps, by id. */
  readStepConfigs(workflowId: string, stepIds: readonly string[]): Promise<Map<string, JsonObject>>;
  getSteps(workflowId: string, ids: readonly string[]): Promise<Step[]>;
  listEdges(workflowId: string, page: PageRequest): Promise<Page<Edge>>;
  listHistory(workflowId: string, page: PageRequest): Promise<Page<HistoryEntrySummary>>;
  hasHistoryEntry(workflowId: string, seq: number): Promise<boolean>;
  getVersion(workflowId: string, version: number): Promise<WorkflowVersionRecord | undefined>;
  /** Several versions in one read, in no particular order; unknown ones are left out. */
  getVersions(keys: readonly { workflowId: string; version: number }[]): Promise<WorkflowVersionRecord[]>;
  getVersionHead(workflowId: string, version: number): Promise<WorkflowVersionHead | undefined>;
  readVersionGraph(workflowId: string, version: number): Promise<Graph | undefined>;
  listVersions(workflowId: string, page: PageRequest): Promise<Page<WorkflowVersionHead>>;
}
