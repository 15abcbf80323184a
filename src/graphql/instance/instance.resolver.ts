import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { WorkflowRunner } from '../../engine/workflow-runner.js';
import { badInput, notFound } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import { parseTriggerInputMatch } from '../../domain/trigger-input-match.js';
import type { OutboundMessageStore } from '../../ports/outbound-message.store.port.js';
import type { RunQueryStore } from '../../ports/run-query.store.port.js';
import type { InstanceEventRecord } from '../../ports/run-records.js';
import { stepAttempts } from '../../domain/step-attempts.js';
import type { WorkflowStore } from '../../ports/workflow.store.port.js';
import { toConnection, type ConnectionShape } from '../common/connection.type.js';
import { PageArgs } from '../common/page.args.js';
import { pageRequest } from '../common/paging.js';
import { selects } from '../common/selection.js';
import { JSONScalar } from '../common/scalars.js';
import type { GraphQLContext } from '../context.js';
import { Workflow } from '../workflow/workflow.type.js';
import { TriggerInputFilter } from './instance.input.js';
import { toEvent, toInstance, toStepAttempt, toStepRun } from './instance.mapper.js';
import { OutboundMessage, OutboundMessageConnection } from './outbound-message.type.js';
import {
  InstanceCounts,
  InstanceEvent,
  InstanceStatus,
  StartWorkflowResult,
  StepAttempt,
  StepRun,
  WorkflowInstance,
  WorkflowInstanceConnection,
} from './instance.type.js';

export interface InstanceResolverDeps {
  readonly runner: WorkflowRunner;
  readonly runs: RunQueryStore;
  readonly workflows: WorkflowStore;
  readonly messages: OutboundMessageStore;
  readonly maxPageSize: number;
}

async function countsOf(runs: RunQueryStore, workflowId: string): Promise<InstanceCounts> {
  const c = await runs.countByStatus(workflowId);
  const counts = {
    pending: c.PENDING ?? 0,
    running: c.RUNNING ?? 0,
    waiting: c.WAITING ?? 0,
    completed: c.COMPLETED ?? 0,
    failed: c.FAILED ?? 0,
    cancelled: c.CANCELLED ?? 0,
  };
  return Object.assign(new InstanceCounts(), {
    ...counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
  });
}

/** Starting, following, cancelling and retrying workflow instances. */
@Resolver(() => WorkflowInstance)
export class InstanceResolver {
  constructor(private readonly deps: InstanceResolverDeps) {}

  @Mutation(() => StartWorkflowResult, {
    description:
      "Starts an instance of the workflow's newest published version. The same idempotencyKey returns the instance it started first; keys of webhook calls and inbound messages are apart and never match.",
  })
  async startWorkflow(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('input', () => JSONScalar, { nullable: true, description: 'The trigger input; defaults to {}.' })
    input: JsonValue | undefined,
    @Arg('idempotencyKey', () => String, { nullable: true }) idempotencyKey: string | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<StartWorkflowResult> {
    const { instance, created } = await this.deps.runner.start(ctx.actor, {
      workflowId,
      input: input ?? {},
      ...(idempotencyKey ? { idempotency: { source: 'graphql', key: idempotencyKey } } : {}),
    });
    return Object.assign(new StartWorkflowResult(), { instance: toInstance(instance), created });
  }

  @Mutation(() => WorkflowInstance, { description: 'Stops a pending, running or waiting instance; its pending jobs are removed.' })
  async cancelInstance(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<WorkflowInstance> {
    return toInstance(await this.deps.runner.cancel(ctx.actor, id));
  }

  @Mutation(() => WorkflowInstance, {
    description: 'Re-runs a failed instance from its failed step, keeping the outputs of the steps that succeeded.',
  })
  async retryInstance(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<WorkflowInstance> {
    return toInstance(await this.deps.runner.retry(ctx.actor, id));
  }

  @Query(() => WorkflowInstance, { description: 'An instance of your workspace; NOT_FOUND otherwise.' })
  async workflowInstance(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<WorkflowInstance> {
    const instance = await this.deps.runs.getInstance(ctx.actor.workspaceId, id);
    if (!instance) throw notFound('Instance', id);
    return toInstance(instance);
  }

  @Query(() => WorkflowInstanceConnection, { description: 'Instances of a workflow, newest first; `totalCount` counts those the filters keep.' })
  async workflowInstances(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('status', () => InstanceStatus, { nullable: true }) status: InstanceStatus | undefined,
    @Arg('triggerInput', () => TriggerInputFilter, {
      nullable: true,
      description: 'Only instances whose trigger input holds this value at this path (answered from an index).',
    })
    triggerInput: TriggerInputFilter | undefined,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ConnectionShape<WorkflowInstance>> {
    // Checked before anything is read: a bad filter is the caller's to fix, whatever the workflow.
    const match = triggerInput ? parseTriggerInputMatch(triggerInput, 'triggerInput') : undefined;
    const listing = (async () => {
      if (!(await this.deps.workflows.get(ctx.actor.workspaceId, workflowId))) throw notFound('Workflow', workflowId);
      return this.deps.runs.listInstances(
        ctx.actor.workspaceId,
        { workflowId, ...(status ? { status } : {}), ...(match ? { triggerInput: match } : {}) },
        pageRequest(page, this.deps.maxPageSize),
      );
    })();
    // The page's inputs are read together, once weighed, when the answer asks for them (begun
    // before the first await: see LargeValues).
    const inputs = selects(info, ['edges', 'node', 'input'])
      ? ctx.largeValues.instanceInputs(listing.then((p) => p.items.map((i) => i.node)))
      : undefined;
    const [result, inputsById] = await Promise.all([listing, inputs]);
    return toConnection(result, (r) => Object.assign(toInstance(r), { input: inputsById?.get(r.id) }));
  }

  @Query(() => InstanceCounts, { description: 'How many instances of a workflow are in each status.' })
  async instanceCounts(@Arg('workflowId', () => ID) workflowId: string, @Ctx() ctx: GraphQLContext): Promise<InstanceCounts> {
    if (!(await this.deps.workflows.get(ctx.actor.workspaceId, workflowId))) throw notFound('Workflow', workflowId);
    return countsOf(this.deps.runs, workflowId);
  }

  @FieldResolver(() => JSONScalar, { description: 'The trigger input.' })
  async input(@Root() instance: WorkflowInstance, @Ctx() ctx: GraphQLContext): Promise<JsonValue> {
    if (instance.input !== undefined) return instance.input;
    // A page reads its inputs with the page when its selection asks for them; this is for the rest.
    const listed = Promise.resolve([{ id: instance.id, inputBytes: instance.inputBytes ?? 0 }]);
    const input = (await ctx.largeValues.instanceInputs(listed)).get(instance.id);
    if (input === undefined) throw new Error(`the input of instance '${instance.id}' vanished while it was read`);
    return input;
  }

  @FieldResolver(() => [StepRun], { description: 'Step runs in the order they were scheduled.' })
  async stepRuns(@Root() instance: WorkflowInstance, @Info() info: GraphQLResolveInfo): Promise<StepRun[]> {
    // Attempts of every step run are read together, with one read of the log, when asked for.
    const [runs, events] = await Promise.all([
      this.deps.runs.listStepRuns(instance.id),
      selects(info, ['attempts']) ? this.deps.runs.listStepRunEvents(instance.id) : undefined,
    ]);
    if (!events) return runs.map(toStepRun);
    const byRun = new Map<string, InstanceEventRecord[]>();
    for (const e of events) if (e.stepRunId) byRun.set(e.stepRunId, [...(byRun.get(e.stepRunId) ?? []), e]);
    return runs.map((r) => Object.assign(toStepRun(r), { attemptsRead: stepAttempts(byRun.get(r.id) ?? []).map(toStepAttempt) }));
  }

  @FieldResolver(() => OutboundMessageConnection, {
    description: 'Messages and likes its steps sent, oldest first; with the sandbox provider, what would have been sent.',
  })
  async messages(@Root() instance: WorkflowInstance, @Args(() => PageArgs) page: PageArgs): Promise<ConnectionShape<OutboundMessage>> {
    const result = await this.deps.messages.listByInstance(instance.id, pageRequest(page, this.deps.maxPageSize));
    return toConnection(result, (m) => Object.assign(new OutboundMessage(), m));
  }

  @FieldResolver(() => [InstanceEvent], { description: 'The event log in order; page with afterSeq.' })
  async events(
    @Root() instance: WorkflowInstance,
    @Arg('afterSeq', () => Int, { defaultValue: 0 }) afterSeq: number,
    @Arg('first', () => Int, { nullable: true }) first: number | undefined,
  ): Promise<InstanceEvent[]> {
    const size = first ?? this.deps.maxPageSize;
    if (size < 0 || size > this.deps.maxPageSize) throw badInput(`first must be between 0 and ${this.deps.maxPageSize}`, 'first');
    return (await this.deps.runs.listEvents(instance.id, { afterSeq, first: size })).map(toEvent);
  }
}

/** A step run's attempts. */
@Resolver(() => StepRun)
export class StepRunResolver {
  constructor(private readonly deps: Pick<InstanceResolverDeps, 'runs'>) {}

  @FieldResolver(() => [StepAttempt], {
    description:
      'Every attempt in the order they started, each with its status, error and timings; kept across retryInstance. Read from the instance\'s event log.',
  })
  async attempts(@Root() run: StepRun): Promise<StepAttempt[]> {
    if (run.attemptsRead) return run.attemptsRead;
    return stepAttempts(await this.deps.runs.listStepRunEvents(run.instanceId, [run.id])).map(toStepAttempt);
  }
}

/** Adds run information to workflows. */
@Resolver(() => Workflow)
export class WorkflowRunsResolver {
  constructor(private readonly deps: InstanceResolverDeps) {}

  @FieldResolver(() => InstanceCounts, { description: 'How many instances are in each status.' })
  instanceCounts(@Root() wf: Workflow): Promise<InstanceCounts> {
    return countsOf(this.deps.runs, wf.id);
  }
}
