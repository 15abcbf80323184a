import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { EventWaits } from '../../engine/event-waits.js';
import type { JsonValue } from '../../domain/json.js';
import { MAX_EVENT_KEY_CHARS, MAX_EVENT_NAME_CHARS } from '../../domain/wait.js';
import { JSONScalar } from '../common/scalars.js';
import type { GraphQLContext } from '../context.js';
import { SendEventResult } from './event.type.js';

/** Events that end `wait.forEvent` steps: a thin adapter over EventWaits. */
@Resolver()
export class EventResolver {
  constructor(private readonly deps: { readonly events: EventWaits }) {}

  @Mutation(() => SendEventResult, {
    description:
      "Sends an event to your workspace: it resumes every instance waiting for it (a wait.forEvent step with this event name and correlation key), which continues on `received` with the payload as the step's output. When none waits, it is kept for EVENT_RETENTION_MS for the first one that does. Never reaches another workspace's instances.",
  })
  async sendEvent(
    @Arg('name', () => String, { description: `The event name, 1 to ${MAX_EVENT_NAME_CHARS} characters, no control characters.` }) name: string,
    @Arg('key', () => String, { description: `The correlation key, 1 to ${MAX_EVENT_KEY_CHARS} characters, no control characters.` }) key: string,
    @Arg('payload', () => JSONScalar, { nullable: true, description: "The waiting step's output; defaults to {}." })
    payload: JsonValue | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SendEventResult> {
    const sent = await this.deps.events.send(ctx.actor, { name, key, payload: payload ?? {} });
    return Object.assign(new SendEventResult(), { resumedInstanceIds: [...sent.resumedInstanceIds], keptUntil: sent.keptUntil });
  }
}
