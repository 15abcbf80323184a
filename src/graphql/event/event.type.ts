import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'What became of a sent event.' })
export class SendEventResult {
  @Field(() => [ID], { description: 'The instances it resumed: every one of the workspace waiting for this name and key.' })
  resumedInstanceIds!: string[];

  @Field(() => Date, {
    nullable: true,
    description:
      'Set when no instance waited for it: it is kept until then, and the first instance to reach a wait.forEvent for this name and key takes it at once.',
  })
  keptUntil!: Date | null;
}
