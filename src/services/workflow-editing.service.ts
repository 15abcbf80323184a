import { randomUUID } from 'node:crypto';
import type { EditCommand } from '../domain/edit-command.js';
import { compileBatch, diffGraphs, stepsNeededForBatch, type EditLimits } from '../domain/edit-compiler.js';
import { invertOps, type EditOp } from '../domain/edit-op.js';
import { AppError, ErrorCode, badInput, invalidState, limitExceeded, notFound } from '../domain/errors.js';
import { GraphSlice } from '../domain/graph-slice.js';
import { validateFailureHandler } from '../domain/failure-handler-validation.js';
import { validateGraph, type ValidationProblem } from '../domain/graph-validation.js';
import type { Graph } from '../domain/graph.js';
import type { StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { Clock } from '../ports/clock.port.js';
import type { DraftSession, WorkflowRecord, WorkflowStore, WorkflowVersionRecord } from '../ports/workflow.store.port.js';
import type { Actor } from './api-key.service.js';

/** What an edit, undo or redo did: the workflow after it and the history entry it touched. */
export interface EditOutcome {
  readonly workflow: WorkflowRecord;
  /** Label of the history entry made, undone or redone; undefined when nothing changed. */
  readonly label?: string;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
}

/** Told after each committed change of a draft (an edit, undo, redo, revert or publish), and after an archive or deletion of its workflow. */
export type DraftListener = (event: {
  readonly workspaceId: string;
  readonly workflowId: string;
  readonly draftRevision: number;
  readonly kind: 'EDIT' | 'UNDO' | 'REDO' | 'PUBLISH' | 'ARCHIVE' | 'DELETE';
  readonly label: string;
  readonly actorKeyId: string;
}) => void;

export interface WorkflowEditingOptions {
  readonly store: WorkflowStore;
  readonly catalog: StepTypeCatalog;
  readonly limits: EditLimits & { readonly historyDepth: number; readonly maxEditsPerBatch: number };
  readonly onChange?: DraftListener;
  /** When a publish is: a schedule's first tick is the first after it. Default: the system clock. */
  readonly clock?: Clock;
}

const stepDelta = (ops: readonly EditOp[]): number =>
  ops.reduce((n, op) => n + (op.op === 'insertStep' ? 1 : op.op === 'deleteStep' ? -1 : 0), 0);

/**
 * Edits drafts with persistent, shared undo/redo. Every change runs in one transaction with the
 * workflow row locked, touches only the rows it changes and appends one history entry.
 */
export class WorkflowEditingService {
  constructor(private readonly options: WorkflowEditingOptions) {}

  async createWorkflow(actor: Actor, input: { name: string; description?: string }): Promise<WorkflowRecord> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 200) throw badInput('A workflow name has 1 to 200 characters', 'name');
    const description = input.description ?? '';
    if (description.length > 5000) throw badInput('A description has at most 5000 characters', 'description');
    return this.options.store.create({ workspaceId: actor.workspaceId, name, description });
  }

  /** Applies commands atomically as one undoable change. */
  async edit(
    actor: Actor,
    workflowId: string,
    commands: readonly EditCommand[],
    expectedRevision?: number,
  ): Promise<EditOutcome & { readonly createdStepIds: readonly string[] }> {
    const { limits, catalog } = this.options;
    if (commands.length === 0) throw badInput('Give at least one edit', 'edits');
    if (commands.length > limits.maxEditsPerBatch) {
      throw limitExceeded(`At most ${limits.maxEditsPerBatch} edits per request`, { limit: limits.maxEditsPerBatch });
    }
    const outcome = await this.options.store.withDraft(actor.workspaceId, workflowId, async (session) => {
      const wf = this.editable(session, expectedRevision);
      await this.checkFailureHandlers(session, commands);
      const slice = new GraphSlice(
        {
          name: wf.name,
          description: wf.description,
          failureHandlerWorkflowId: wf.failureHandlerWorkflowId,
          repliesAlsoStartWorkflows: wf.repliesAlsoStartWorkflows,
        },
        wf.stepCount,
      );
      const ids = stepsNeededForBatch(commands);
      const loaded = await session.loadSteps(ids);
      const found = new Set(loaded.steps.map((s) => s.id));
      slice.addLoaded(loaded.steps, loaded.edges, ids.filter((id) => !found.has(id)));
      const { ops, label } = compileBatch(commands, { slice, catalog, limits, newId: newStepId });
      const createdStepIds = ops.flatMap((op) => (op.op === 'insertStep' ? [op.step.id] : []));
      if (ops.length === 0) {
        return { ...(await this.flags(session, wf)), label: undefined, createdStepIds };
      }
      const workflow = await this.record(session, { actor, ops, label });
      return { workflow, label, canUndo: true, canRedo: false, createdStepIds };
    });
    if (outcome.label) this.notify(actor, outcome.workflow, 'EDIT', outcome.label);
    return outcome;
  }

  /** Reverts the newest applied history entry. */
  async undo(actor: Actor, workflowId: string, expectedRevision?: number): Promise<EditOutcome> {
    const outcome = await this.options.store.withDraft(actor.workspaceId, workflowId, async (session) => {
      const wf = this.editable(session, expectedRevision);
      const entry = await session.historyEntry(wf.historyHead);
      if (!entry) throw invalidState('There is nothing to undo', { draftRevision: wf.draftRevision });
      await session.applyOps(entry.inverse);
      const updated = await session.updateHead({
        draftRevision: wf.draftRevision + 1,
        historyHead: wf.historyHead - 1,
        stepCountDelta: -stepDelta(entry.forward),
      });
      return { workflow: updated, label: entry.label, canUndo: entry.hasPrevious, canRedo: true };
    });
    this.notify(actor, outcome.workflow, 'UNDO', `Undid: ${outcome.label}`);
    return outcome;
  }

  /** Re-applies the newest undone history entry. */
  async redo(actor: Actor, workflowId: string, expectedRevision?: number): Promise<EditOutcome> {
    const outcome = await this.options.store.withDraft(actor.workspaceId, workflowId, async (session) => {
      const wf = this.editable(session, expectedRevision);
      const entry = await session.historyEntry(wf.historyHead + 1);
      if (!entry) throw invalidState('There is nothing to redo', { draftRevision: wf.draftRevision });
      await session.applyOps(entry.forward);
      const updated = await session.updateHead({
        draftRevision: wf.draftRevision + 1,
        historyHead: entry.seq,
        stepCountDelta: stepDelta(entry.forward),
      });
      return {
        workflow: updated,
        label: entry.label,
        canUndo: true,
        canRedo: entry.hasNext,
      };
    });
    this.notify(actor, outcome.workflow, 'REDO', `Redid: ${outcome.label}`);
    return outcome;
  }

  /** Validates the whole draft and stores it as a new immutable version; the workflow becomes active. */
  async publish(
    actor: Actor,
    workflowId: string,
    expectedRevision?: number,
  ): Promise<{ workflow: WorkflowRecord; version: WorkflowVersionRecord }> {
    const result = await this.options.store.withDraft(actor.workspaceId, workflowId, async (session) => {
      const wf = this.editable(session, expectedRevision);
      const graph = await session.loadGraph();
      const problems = [
        ...validateGraph(graph, this.options.catalog, { schedules: this.options.limits.schedules }),
        ...(await this.handlerProblems(wf, (id) => session.getSibling(id))),
      ];
      if (problems.length > 0) {
        throw new AppError(
          ErrorCode.VALIDATION_FAILED,
          `The workflow cannot be published: ${problems.length} problem${problems.length === 1 ? '' : 's'} found`,
          { problems },
        );
      }
      const version = await session.insertVersion({
        workflowId: wf.id,
        version: (wf.latestVersion ?? 0) + 1,
        graph,
        draftRevision: wf.draftRevision,
        publishedBy: actor.apiKeyId,
        failureHandlerWorkflowId: wf.failureHandlerWorkflowId,
        repliesAlsoStartWorkflows: wf.repliesAlsoStartWorkflows,
      });
      await this.reschedule(session, graph, version.version);
      const workflow = await session.updateHead({ status: 'ACTIVE', latestVersion: version.version });
      return { workflow, version };
    });
    this.notify(actor, result.workflow, 'PUBLISH', `Published version ${result.version.version}`);
    return result;
  }

  /** Replaces the draft with a published version's graph, as one undoable change. */
  async revertDraft(actor: Actor, workflowId: string, version: number, expectedRevision?: number): Promise<EditOutcome> {
    const outcome = await this.options.store.withDraft(actor.workspaceId, workflowId, async (session) => {
      const wf = this.editable(session, expectedRevision);
      const target = await session.getVersion(version);
      if (!target) throw notFound('Version', String(version));
      const ops = diffGraphs(await session.loadGraph(), target.graph);
      const label = `Reverted draft to version ${version}`;
      if (ops.length === 0) return { ...(await this.flags(session, wf)), label: undefined };
      const workflow = await this.record(session, { actor, ops, label });
      return { workflow, label, canUndo: true, canRedo: false };
    });
    if (outcome.label) this.notify(actor, outcome.workflow, 'EDIT', outcome.label);
    return outcome;
  }

  /** Archives a workflow: it can no longer be edited, published or started. */
  async archive(actor: Actor, workflowId: string): Promise<WorkflowRecord> {
    const workflow = await this.options.store.withDraft(actor.workspaceId, workflowId, async (session) => {
      if (session.workflow.status === 'ARCHIVED') return session.workflow;
      await session.setSchedule(null);
      return session.updateHead({ status: 'ARCHIVED' });
    });
    this.notify(actor, workflow, 'ARCHIVE', 'Archived the workflow');
    return workflow;
  }

  /** Every problem that would stop the draft from being published (empty when it is valid). */
  async validate(actor: Actor, workflowId: string) {
    const wf = await this.options.store.get(actor.workspaceId, workflowId);
    if (!wf) throw notFound('Workflow', workflowId);
    const handlerProblems = await this.handlerProblems(wf, (id) => this.options.store.get(actor.workspaceId, id));
    const graph = await this.options.store.loadGraph(wf.id);
    return [...validateGraph(graph, this.options.catalog, { schedules: this.options.limits.schedules }), ...handlerProblems];
  }

  /**
   * Schedules the workflow as the version just published says, in the publish's transaction: its
   * trigger's first tick after now, or no schedule when the trigger is not started on one. A tick
   * of the previous version that is due and not yet fired is carried over when the new schedule
   * has it too (its instance is keyed by the tick time, so a fire of it already under way still
   * starts one instance).
   */
  private async reschedule(session: DraftSession, graph: Graph, version: number): Promise<void> {
    const { catalog } = this.options;
    const trigger = graph.steps.find((s) => catalog.get(s.type)?.category === 'trigger');
    const ticks = trigger && catalog.get(trigger.type)?.schedule?.(trigger.config);
    if (!trigger || !ticks) {
      await session.setSchedule(null);
      return;
    }
    const now = (this.options.clock ?? systemClock).now();
    const previous = await session.getSchedule();
    const from = previous && previous.nextTickAt.getTime() <= now.getTime() ? new Date(previous.nextTickAt.getTime() - 1) : now;
    const nextTickAt = ticks.next(from);
    await session.setSchedule(
      nextTickAt === undefined ? null : { version, triggerStepId: trigger.id, triggerType: trigger.type, config: trigger.config, nextTickAt },
    );
  }

  /** What publishing reports about the failure handler a draft names (see validateFailureHandler). */
  private async handlerProblems(
    wf: WorkflowRecord,
    find: (id: string) => Promise<WorkflowRecord | undefined>,
  ): Promise<ValidationProblem[]> {
    const handlerId = wf.failureHandlerWorkflowId;
    if (handlerId === null) return [];
    const handler = handlerId === wf.id ? wf : await find(handlerId);
    return validateFailureHandler({ workflowId: wf.id, handlerId, handler });
  }

  /**
   * A failure handler being set must be another workflow of the caller's workspace; whether it is
   * published is checked when publishing, since a handler may be built after the flow it serves.
   */
  private async checkFailureHandlers(session: DraftSession, commands: readonly EditCommand[]): Promise<void> {
    const wf = session.workflow;
    for (const [index, command] of commands.entries()) {
      if (command.kind !== 'updateWorkflow' || typeof command.failureHandlerWorkflowId !== 'string') continue;
      const id = command.failureHandlerWorkflowId.toLowerCase();
      const field = 'failureHandlerWorkflowId';
      if (id === wf.id) throw badInput('A workflow cannot be its own failure handler', field, { commandIndex: index });
      // Not a UUID: the compiler refuses it with its own message.
      if (/^[0-9a-f-]{36}$/.test(id) && !(await session.getSibling(id))) {
        throw badInput(`No workflow '${id}' in this workspace`, field, { commandIndex: index });
      }
    }
  }

  /** Applies ops as one new history entry (dropping what could be redone) and bumps the revision. */
  private async record(
    session: DraftSession,
    change: { actor: Actor; ops: readonly EditOp[]; label: string },
  ): Promise<WorkflowRecord> {
    const wf = session.workflow;
    await session.applyOps(change.ops);
    return session.pushHistory(
      {
        head: wf.historyHead,
        label: change.label,
        forward: change.ops,
        inverse: invertOps(change.ops),
        actorKeyId: change.actor.apiKeyId,
        depth: this.options.limits.historyDepth,
      },
      { draftRevision: wf.draftRevision + 1, stepCountDelta: stepDelta(change.ops) },
    );
  }

  private editable(session: DraftSession, expectedRevision: number | undefined): WorkflowRecord {
    const wf = session.workflow;
    if (wf.status === 'ARCHIVED') throw invalidState('The workflow is archived and cannot be changed');
    if (expectedRevision !== undefined && expectedRevision !== wf.draftRevision) {
      throw new AppError(
        ErrorCode.REVISION_CONFLICT,
        `The draft is at revision ${wf.draftRevision}, not ${expectedRevision}; reload it and try again`,
        { expectedRevision, currentRevision: wf.draftRevision },
      );
    }
    return wf;
  }

  private async flags(session: DraftSession, wf: WorkflowRecord): Promise<EditOutcome> {
    return {
      workflow: wf,
      canUndo: await session.hasHistoryEntry(wf.historyHead),
      canRedo: await session.hasHistoryEntry(wf.historyHead + 1),
    };
  }

  private notify(actor: Actor, wf: WorkflowRecord, kind: Parameters<DraftListener>[0]['kind'], label: string): void {
    this.options.onChange?.({
      workspaceId: wf.workspaceId,
      workflowId: wf.id,
      draftRevision: wf.draftRevision,
      kind,
      label,
      actorKeyId: actor.apiKeyId,
    });
  }
}

const systemClock: Clock = { now: () => new Date() };

/** Generated step ids: short, URL-safe and valid as template path segments. */
function newStepId(): string {
  return `step_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}
