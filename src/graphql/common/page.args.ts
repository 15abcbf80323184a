import { ArgsType, Field, Int } from 'type-graphql';

/** `first`/`after` paging arguments shared by every connection. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: 'Page size; defaults to 50 and is capped by MAX_PAGE_SIZE.' })
  first?: number;

  @Field(() => String, { nullable: true, description: 'The `endCursor` of the previous page.' })
  after?: string;
}
