import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { notFound } from '../../domain/errors.js';
import type { StepTypeCatalog } from '../../domain/step-type-catalog.js';
import type { ScheduleStore } from '../../ports/schedule.store.port.js';
import type { WorkflowStore } from '../../ports/workflow.store.port.js';
import type { WorkflowDeletionService } from '../../services/workflow-deletion.service.js';
import type { EditOutcome, WorkflowEditingService } from '../../services/workflow-editing.service.js';
import type { GraphQLContext } from '../context.js';
import { toConnection, type ConnectionShape } from '../common/connection.type.js';
import { PageArgs } from '../common/page.args.js';
import { pageRequest } from '../common/paging.js';
import { selects } from '../common/selection.js';
import {
  addStepCommand,
  connectCommand,
  disconnectCommand,
  editCommand,
  moveStepCommand,
  removeStepCommand,
  updateStepCommand,
  updateWorkflowCommand,
} from './edit-input.mapper.js';
import {
  AddStepInput,
  ConnectStepsInput,
  CreateWorkflowInput,
  DisconnectStepsInput,
  EditInput,
  MoveStepInput,
  RemoveStepInput,
  UpdateStepInput,
  UpdateWorkflowInput,
} from './workflow.input.js';
import { toHistoryEntry, toStep, toStepOfDraft, toVersion, toVersionHead, toWorkflow } from './workflow.mapper.js';
import {
  DeletedWorkflow,
  Edge,
  EditResult,
  EdgeConnection,
  HistoryConnection,
  HistoryEntry,
  PublishResult,
  Step,
  StepConnection,
  ValidationProblem,
  Workflow,
  WorkflowConnection,
  WorkflowSchedule,
  WorkflowStatus,
  WorkflowVersion,
  WorkflowVersionConnection,
  WorkflowVersionSummary,
} from './workflow.type.js';

export interface WorkflowResolverDeps {
  readonly editing: WorkflowEditingService;
  readonly deletion: WorkflowDeletionService;
  readonly store: WorkflowStore;
  readonly schedules: Pick<ScheduleStore, 'get'>;
  readonly catalog: StepTypeCatalog;
  readonly maxPageSize: number;
}

const expected = { nullable: true, description: 'Refuse the edit with REVISION_CONFLICT unless the draft is at this revision.' };

/** Queries and editing mutations of workflows: a thin adapter over the editing service. */
@Resolver(() => Workflow)
export class WorkflowResolver {
  constructor(private readonly deps: WorkflowResolverDeps) {}

  @Query(() => Workflow, { description: 'A workflow of your workspace; NOT_FOUND otherwise.' })
  async workflow(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Workflow> {
    const wf = await this.deps.store.get(ctx.actor.workspaceId, id);
    if (!wf) throw notFound('Workflow', id);
    return toWorkflow(wf);
  }

  @Query(() => WorkflowConnection, { description: 'Workflows of your workspace, newest first.' })
  async workflows(
    @Args(() => PageArgs) page: PageArgs,
    @Arg('status', () => WorkflowStatus, { nullable: true }) status: WorkflowStatus | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ConnectionShape<Workflow>> {
    const result = await this.deps.store.list(
      ctx.actor.workspaceId,
      status ? { status } : {},
      pageRequest(page, this.deps.maxPageSize),
    );
    return toConnection(result, toWorkflow);
  }

  @Query(() => WorkflowVersion, { description: 'One published version with its whole graph.' })
  async workflowVersion(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('version', () => Int) version: number,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WorkflowVersion> {
    await this.owned(ctx, workflowId);
    const v = await this.deps.store.getVersionHead(workflowId, version);
    if (!v) throw notFound('Version', String(version));
    return toVersionHead(v);
  }

  @FieldResolver(() => StepConnection, { description: 'The draft steps, in the order they were added.' })
  async steps(
    @Root() wf: Workflow,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ConnectionShape<Step>> {
    const listing = this.deps.store.listSteps(wf.id, pageRequest(page, this.deps.maxPageSize));
    // The page's configs are read together, once weighed, when the answer asks for them: a page
    // that would not fit is refused here with one error, before any config is read. Begun before
    // the first await, so that sibling aliases are weighed together (see LargeValues).
    const configs = selects(info, ['edges', 'node', 'config'])
      ? ctx.largeValues.stepConfigs(wf.id, listing.then((p) => p.items.map((i) => i.node)))
      : undefined;
    const [result, configsById] = await Promise.all([listing, configs]);
    return toConnection(result, (s) => toStepOfDraft(wf.id, s, configsById?.get(s.id)));
  }

  @FieldResolver(() => Step, { nullable: true, description: 'One draft step by id.' })
  async step(@Root() wf: Workflow, @Arg('id', () => ID) id: string): Promise<Step | null> {
    const [step] = await this.deps.store.getSteps(wf.id, [id]);
    return step ? toStep(step) : null;
  }

  @FieldResolver(() => EdgeConnection, { description: 'The draft edges.' })
  async edges(@Root() wf: Workflow, @Args(() => PageArgs) page: PageArgs): Promise<ConnectionShape<Edge>> {
    return toConnection(await this.deps.store.listEdges(wf.id, pageRequest(page, this.deps.maxPageSize)), (e) =>
      Object.assign(new Edge(), e),
    );
  }

  @FieldResolver(() => HistoryConnection, { description: 'Undo/redo history, newest first.' })
  async history(@Root() wf: Workflow, @Args(() => PageArgs) page: PageArgs): Promise<ConnectionShape<HistoryEntry>> {
    const result = await this.deps.store.listHistory(wf.id, pageRequest(page, this.deps.maxPageSize));
    return toConnection(result, (e) => toHistoryEntry(e, wf.historyHead));
  }

  @FieldResolver(() => WorkflowVersionConnection, { description: 'Published versions, newest first.' })
  async versions(
    @Root() wf: Workflow,
    @Args(() => PageArgs) page: PageArgs,
  ): Promise<ConnectionShape<WorkflowVersionSummary>> {
    const result = await this.deps.store.listVersions(wf.id, pageRequest(page, this.deps.maxPageSize));
    return toConnection(result, (v) => Object.assign(new WorkflowVersionSummary(), v));
  }

  @FieldResolver(() => WorkflowSchedule, {
    nullable: true,
    description: 'When its schedule trigger fires next; null unless the newest published version starts on a schedule (and after archiving).',
  })
  async schedule(@Root() wf: Workflow, @Ctx() ctx: GraphQLContext): Promise<WorkflowSchedule | null> {
    const schedule = await this.deps.schedules.get(ctx.actor.workspaceId, wf.id);
    return schedule ? Object.assign(new WorkflowSchedule(), schedule) : null;
  }

  @FieldResolver(() => Boolean)
  canUndo(@Root() wf: Workflow): Promise<boolean> {
    return this.deps.store.hasHistoryEntry(wf.id, wf.historyHead);
  }

  @FieldResolver(() => Boolean)
  canRedo(@Root() wf: Workflow): Promise<boolean> {
    return this.deps.store.hasHistoryEntry(wf.id, wf.historyHead + 1);
  }

  @FieldResolver(() => [ValidationProblem], {
    description: 'Every problem that would stop the draft from being published; empty when it is valid.',
  })
  async validationProblems(@Root() wf: Workflow, @Ctx() ctx: GraphQLContext): Promise<ValidationProblem[]> {
    const problems = await this.deps.editing.validate(ctx.actor, wf.id);
    return problems.map((p) => Object.assign(new ValidationProblem(), p));
  }

  @Mutation(() => Workflow)
  async createWorkflow(
    @Arg('input', () => CreateWorkflowInput) input: CreateWorkflowInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Workflow> {
    return toWorkflow(await this.deps.editing.createWorkflow(ctx.actor, input));
  }

  @Mutation(() => EditResult, { description: 'Renames or re-describes a workflow, or changes its settings: its failure handler, whether replies to its waits also start workflows (undoable).' })
  updateWorkflow(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateWorkflowInput) input: UpdateWorkflowInput,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.edit(ctx, id, [updateWorkflowCommand(input)], expectedRevision);
  }

  @Mutation(() => EditResult)
  addStep(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('input', () => AddStepInput) input: AddStepInput,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.edit(ctx, workflowId, [addStepCommand(input)], expectedRevision);
  }

  @Mutation(() => EditResult)
  updateStep(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('input', () => UpdateStepInput) input: UpdateStepInput,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.edit(ctx, workflowId, [updateStepCommand(input)], expectedRevision);
  }

  @Mutation(() => EditResult)
  moveStep(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('input', () => MoveStepInput) input: MoveStepInput,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.edit(ctx, workflowId, [moveStepCommand(input)], expectedRevision);
  }

  @Mutation(() => EditResult)
  removeStep(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('input', () => RemoveStepInput) input: RemoveStepInput,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.edit(ctx, workflowId, [removeStepCommand(input)], expectedRevision);
  }

  @Mutation(() => EditResult)
  connectSteps(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('input', () => ConnectStepsInput) input: ConnectStepsInput,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.edit(ctx, workflowId, [connectCommand(input)], expectedRevision);
  }

  @Mutation(() => EditResult)
  disconnectSteps(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('input', () => DisconnectStepsInput) input: DisconnectStepsInput,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.edit(ctx, workflowId, [disconnectCommand(input)], expectedRevision);
  }

  @Mutation(() => EditResult, { description: 'Applies a list of edits atomically, as one undoable change.' })
  applyEdits(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('edits', () => [EditInput]) edits: EditInput[],
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.edit(ctx, workflowId, edits.map(editCommand), expectedRevision);
  }

  @Mutation(() => EditResult, { description: 'Reverts the newest change; INVALID_STATE when there is none.' })
  async undo(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.result(await this.deps.editing.undo(ctx.actor, workflowId, expectedRevision), []);
  }

  @Mutation(() => EditResult, { description: 'Re-applies the newest undone change; INVALID_STATE when there is none.' })
  async redo(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.result(await this.deps.editing.redo(ctx.actor, workflowId, expectedRevision), []);
  }

  @Mutation(() => PublishResult, {
    description: 'Validates the draft and stores it as a new immutable version; VALIDATION_FAILED lists every problem.',
  })
  async publishWorkflow(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PublishResult> {
    const { workflow, version } = await this.deps.editing.publish(ctx.actor, workflowId, expectedRevision);
    return Object.assign(new PublishResult(), { workflow: toWorkflow(workflow), version: toVersion(version) });
  }

  @Mutation(() => EditResult, { description: 'Replaces the draft with a published version (undoable).' })
  async revertDraft(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('version', () => Int) version: number,
    @Arg('expectedRevision', () => Int, expected) expectedRevision: number | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<EditResult> {
    return this.result(await this.deps.editing.revertDraft(ctx.actor, workflowId, version, expectedRevision), []);
  }

  @Mutation(() => Workflow, { description: 'Makes a workflow read-only; it can no longer be edited or started.' })
  async archiveWorkflow(@Arg('workflowId', () => ID) workflowId: string, @Ctx() ctx: GraphQLContext): Promise<Workflow> {
    return toWorkflow(await this.deps.editing.archive(ctx.actor, workflowId));
  }

  @Mutation(() => DeletedWorkflow, {
    description:
      'Deletes a workflow with its schedule, versions, draft, history, webhook and every instance, in one transaction: no tick, start or edit follows. INVALID_STATE while instances are in progress (`extensions.activeInstances`) unless `force`, and while another workflow would still start it as its failure handler (`extensions.referencedBy`).',
  })
  async deleteWorkflow(
    @Arg('id', () => ID) id: string,
    @Arg('force', () => Boolean, {
      defaultValue: false,
      description: 'Cancel its instances in progress first (as cancelInstance does: their pending jobs are removed), then delete.',
    })
    force: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DeletedWorkflow> {
    return Object.assign(new DeletedWorkflow(), await this.deps.deletion.delete(ctx.actor, id, { force }));
  }

  private async edit(
    ctx: GraphQLContext,
    workflowId: string,
    commands: Parameters<WorkflowEditingService['edit']>[2],
    expectedRevision: number | undefined,
  ): Promise<EditResult> {
    const outcome = await this.deps.editing.edit(ctx.actor, workflowId, commands, expectedRevision ?? undefined);
    return this.result(outcome, [...outcome.createdStepIds]);
  }

  private result(outcome: EditOutcome, createdStepIds: string[]): EditResult {
    return Object.assign(new EditResult(), {
      workflow: toWorkflow(outcome.workflow),
      label: outcome.label ?? null,
      createdStepIds,
      canUndo: outcome.canUndo,
      canRedo: outcome.canRedo,
    });
  }

  private async owned(ctx: GraphQLContext, workflowId: string): Promise<void> {
    if (!(await this.deps.store.get(ctx.actor.workspaceId, workflowId))) throw notFound('Workflow', workflowId);
  }
}

