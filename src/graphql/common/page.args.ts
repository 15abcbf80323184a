import { ArgsType, Field, Int } from 'type-graphql';
import { DEFAULT_PAGE_SIZE } from './paging.js';

/** `first`/`after` paging arguments shared by every connection. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    defaultValue: DEFAULT_PAGE_SIZE,
    description:
      'Page size: at most MAX_PAGE_SIZE (500 unless the server is set otherwise); a larger one is refused with BAD_USER_INPUT, never cut short.',
  })
  first?: number;

  @Field(() => String, { nullable: true, description: 'The `endCursor` of the previous page.' })
  after?: string;
}
