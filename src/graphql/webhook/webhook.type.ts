import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: "A workflow's webhook URL: never its token or signing secret, which are shown once." })
export class Webhook {
  @Field(() => String, { description: 'The first characters of the live token, to tell URLs apart.' })
  prefix!: string;

  @Field(() => Boolean, { description: 'Whether calls must carry an X-Wfb-Signature header.' })
  signingEnabled!: boolean;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When the token was last rotated; null while the first one is live.' })
  rotatedAt!: Date | null;
}

@ObjectType({ description: 'A webhook with a newly made token. Store the token now: it cannot be shown again.' })
export class IssuedWebhook {
  @Field(() => Webhook)
  webhook!: Webhook;

  @Field(() => String, { description: 'The URL to POST JSON to; it contains the token.' })
  url!: string;

  @Field(() => String, { description: 'The URL token, shown only here.' })
  token!: string;

  @Field(() => String, { description: 'The first characters of the token (as in `webhook.prefix`).' })
  prefix!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The signing secret, shown only when it was just made; null otherwise.',
  })
  signingSecret!: string | null;
}

@ObjectType({ description: 'A webhook after its signing was changed.' })
export class WebhookSigningResult {
  @Field(() => Webhook)
  webhook!: Webhook;

  @Field(() => String, { nullable: true, description: 'The new signing secret, shown only here; null when signing was turned off.' })
  signingSecret!: string | null;
}
