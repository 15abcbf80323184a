import { Field, ID, ObjectType } from 'type-graphql';
import { connectionOf } from '../common/connection.type.js';

@ObjectType({
  description:
    'A message or like a step sent (or, with the sandbox provider, would have sent): channel, recipient, text, provider and delivery status.',
})
export class OutboundMessage {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  instanceId!: string;

  @Field(() => ID)
  stepId!: string;

  @Field(() => String, { description: 'instagram, whatsapp or sms.' })
  channel!: string;

  @Field(() => String, { description: 'message or like.' })
  kind!: string;

  @Field(() => String, { nullable: true })
  recipient!: string | null;

  @Field(() => String, { nullable: true })
  text!: string | null;

  @Field(() => String, { nullable: true, description: 'For a like: the message reacted to.' })
  targetMessageId!: string | null;

  @Field(() => String, { description: 'sandbox, twilio or meta.' })
  provider!: string;

  @Field(() => String, { nullable: true })
  providerMessageId!: string | null;

  @Field(() => String, {
    description: 'sending, sent, or uncertain (the vendor call timed out: it may or may not have been delivered).',
  })
  status!: string;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

export const OutboundMessageConnection = connectionOf(OutboundMessage, 'OutboundMessage');
