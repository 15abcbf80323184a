import { Arg, Ctx, FieldResolver, ID, Int, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { notFound } from '../../domain/errors.js';
import type { InstanceEventRecord } from '../../ports/run-records.js';
import type { DraftNotification, WorkflowEventBatchPayload, WorkflowEventPayload } from '../../ports/live-streams.port.js';
import type { GraphQLContext } from '../context.js';
import { toEvent, toInstance } from '../instance/instance.mapper.js';
import { WorkflowInstance } from '../instance/instance.type.js';
import { InstanceUpdate, WorkflowEdit, WorkflowInstanceEvent, WorkflowInstanceEventBatch } from './subscription.type.js';

type Data<A> = SubscribeResolverData<unknown, A, GraphQLContext>;

/** Live status over graphql-ws: instance changes, a workflow's event stream, draft edits. */
@Resolver(() => InstanceUpdate)
export class SubscriptionResolver {
  @Subscription(() => InstanceUpdate, {
    description:
      'Each state change of one instance and its step runs, in order. Without `since`: from now on; with `since`: first the stored events after that seq (0 = all), then live. Completes right after the instance\'s COMPLETED, FAILED or CANCELLED event (at once when it had ended and nothing follows `since`); a failed instance retried later is followed by subscribing again with `since`.',
    subscribe: ({ args, context }: Data<{ instanceId: string; since?: number | null }>) =>
      context.live.instanceEvents(context.actor, args.instanceId, args.since ?? undefined),
  })
  instanceUpdated(
    @Root() event: InstanceEventRecord,
    @Arg('instanceId', () => ID) _instanceId: string,
    @Arg('since', () => Int, { nullable: true }) _since?: number,
  ): InstanceUpdate {
    return Object.assign(new InstanceUpdate(), { instanceId: event.instanceId, seq: event.seq, event: toEvent(event) });
  }

  @FieldResolver(() => WorkflowInstance, { description: 'The instance as it is now (loaded when asked for).' })
  async instance(@Root() update: InstanceUpdate, @Ctx() ctx: GraphQLContext): Promise<WorkflowInstance> {
    const instance = await ctx.live.instance(ctx.actor, update.instanceId);
    if (!instance) throw notFound('Instance', update.instanceId);
    return toInstance(instance);
  }

  @Subscription(() => WorkflowInstanceEvent, {
    description:
      'Every transition of every instance of a workflow. Without `since`: from now on; with a `cursor` from an earlier event (or "0" for everything stored): the stored events after it, then live, with no gap and no duplicate.',
    subscribe: ({ args, context }: Data<{ workflowId: string; since?: string | null }>) =>
      context.live.workflowEvents(context.actor, args.workflowId, args.since ?? undefined),
  })
  workflowInstanceEvents(
    @Root() payload: WorkflowEventPayload,
    @Arg('workflowId', () => ID) _workflowId: string,
    @Arg('since', () => String, { nullable: true }) _since?: string,
  ): WorkflowInstanceEvent {
    return Object.assign(new WorkflowInstanceEvent(), { event: toEvent(payload.event), cursor: payload.cursor });
  }

  @Subscription(() => WorkflowInstanceEventBatch, {
    description:
      'The same stream as `workflowInstanceEvents`, with the events read together sent as one message: what a dashboard watching a busy workflow should use (one message per batch instead of one per event). `since` takes any cursor of either stream.',
    subscribe: ({ args, context }: Data<{ workflowId: string; since?: string | null }>) =>
      context.live.workflowEventBatches(context.actor, args.workflowId, args.since ?? undefined),
  })
  workflowInstanceEventBatches(
    @Root() payload: WorkflowEventBatchPayload,
    @Arg('workflowId', () => ID) _workflowId: string,
    @Arg('since', () => String, { nullable: true }) _since?: string,
  ): WorkflowInstanceEventBatch {
    return Object.assign(new WorkflowInstanceEventBatch(), {
      events: payload.events.map((p) => Object.assign(new WorkflowInstanceEvent(), { event: toEvent(p.event), cursor: p.cursor })),
      cursor: payload.cursor,
    });
  }

  @Subscription(() => WorkflowEdit, {
    description: "Each new draft revision of a workflow (edits, undo, redo, publish), its archiving and its deletion, by whoever made them. Completes right after the deletion's DELETE.",
    subscribe: ({ args, context }: Data<{ workflowId: string }>) => context.live.draftChanges(context.actor, args.workflowId),
  })
  workflowEdited(@Root() n: DraftNotification, @Arg('workflowId', () => ID) _workflowId: string): WorkflowEdit {
    return Object.assign(new WorkflowEdit(), {
      workflowId: n.workflowId,
      draftRevision: n.draftRevision,
      change: n.change,
      label: n.label,
      actorKeyId: n.actorKeyId,
      at: new Date(n.at),
    });
  }
}
