import { Field, InputType } from 'type-graphql';
import type { JsonValue } from '../../domain/json.js';
import {
  MAX_TRIGGER_INPUT_PATH_CHARS,
  MAX_TRIGGER_INPUT_PATH_KEYS,
  MAX_TRIGGER_INPUT_VALUE_CHARS,
} from '../../domain/trigger-input-match.js';
import { JSONScalar } from '../common/scalars.js';

@InputType({
  description:
    'Instances whose trigger input holds `equals` at `path`, e.g. `{ path: "message.id", equals: "SM123" }` for the run an inbound message started.',
})
export class TriggerInputFilter {
  @Field(() => String, {
    description: `Object keys from the root of the trigger input, separated by dots: 1 to ${MAX_TRIGGER_INPUT_PATH_KEYS} non-empty keys, at most ${MAX_TRIGGER_INPUT_PATH_CHARS} characters, no control characters. Array elements are not addressed: an array on the path matches nothing.`,
  })
  path!: string;

  @Field(() => JSONScalar, {
    description: `A string (at most ${MAX_TRIGGER_INPUT_VALUE_CHARS} characters), number or boolean, compared as JSON: "1" does not match 1, 1 matches 1.0.`,
  })
  equals!: JsonValue;
}
