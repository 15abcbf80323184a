import { Ctx, FieldResolver, Mutation, Resolver } from 'type-graphql';
import type { EventSigningService } from '../../services/event-signing.service.js';
import { Workspace } from '../api-key/api-key.type.js';
import type { GraphQLContext } from '../context.js';
import { EventSigning, IssuedEventSigningSecret } from './event-signing.type.js';

/** The secret signed events are checked with: a thin adapter over the event signing service. */
@Resolver(() => Workspace)
export class EventSigningResolver {
  constructor(private readonly deps: { readonly eventSigning: EventSigningService }) {}

  @FieldResolver(() => EventSigning, {
    nullable: true,
    description: 'Where to post events signed with the workspace\'s event signing secret; null when it has none.',
  })
  async eventSigning(@Ctx() ctx: GraphQLContext): Promise<EventSigning | null> {
    // The workspace query only ever returns the caller's own workspace; its actor is the scope.
    const signing = await this.deps.eventSigning.get(ctx.actor);
    return signing ? Object.assign(new EventSigning(), signing) : null;
  }

  @Mutation(() => IssuedEventSigningSecret, {
    description:
      'Gives your workspace a new event signing secret, for POST /events/<workspace id> with an X-Wfb-Signature instead of an API key. It replaces any old one at once (so it is also how to rotate it); the secret is returned only here.',
  })
  async createEventSigningSecret(@Ctx() ctx: GraphQLContext): Promise<IssuedEventSigningSecret> {
    return Object.assign(new IssuedEventSigningSecret(), await this.deps.eventSigning.create(ctx.actor));
  }

  @Mutation(() => Boolean, {
    description: 'Removes your workspace\'s event signing secret; signed events are refused from then on. False when there was none.',
  })
  revokeEventSigningSecret(@Ctx() ctx: GraphQLContext): Promise<boolean> {
    return this.deps.eventSigning.revoke(ctx.actor);
  }
}
