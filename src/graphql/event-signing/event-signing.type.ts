import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: "Your workspace's event signing: where to post signed events. Never the secret, which is shown once." })
export class EventSigning {
  @Field(() => String, { description: 'The URL to POST signed events to (POST /events/<workspace id>).' })
  url!: string;

  @Field(() => Date, { description: 'When the live secret was made.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A new event signing secret. Store it now: it cannot be shown again.' })
export class IssuedEventSigningSecret {
  @Field(() => String, { description: 'The secret, shown only here: the key of the X-Wfb-Signature HMAC.' })
  secret!: string;

  @Field(() => String, { description: 'The URL to POST signed events to (as in `workspace.eventSigning.url`).' })
  url!: string;

  @Field(() => Date)
  createdAt!: Date;
}
