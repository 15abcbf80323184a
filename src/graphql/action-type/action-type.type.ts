import { Field, ObjectType, registerEnumType } from 'type-graphql';
import type { JsonValue } from '../../domain/json.js';
import { JSONScalar } from '../common/scalars.js';

export enum StepCategory {
  TRIGGER = 'TRIGGER',
  ACTION = 'ACTION',
  LOGIC = 'LOGIC',
}
registerEnumType(StepCategory, { name: 'StepCategory' });

@ObjectType({ description: 'An output port of a step type.' })
export class PortSpec {
  @Field(() => String)
  name!: string;

  @Field(() => Boolean, { description: 'A required port must have an edge before publishing.' })
  required!: boolean;
}

@ObjectType({ description: 'A step type of the action registry, with the JSON Schema of its config.' })
export class ActionType {
  @Field(() => String)
  type!: string;

  @Field(() => StepCategory)
  category!: StepCategory;

  @Field(() => String)
  displayName!: string;

  @Field(() => String)
  description!: string;

  @Field(() => JSONScalar, { description: 'JSON Schema (draft 2020-12) of the config; a UI renders its form from it.' })
  configSchema!: JsonValue;

  @Field(() => [PortSpec], {
    description: 'Output ports of a step of this type; for types with dynamicPorts, those of an empty config.',
  })
  outputPorts!: PortSpec[];

  @Field(() => Boolean, {
    description: "True when the ports follow from the config (a switch has one port per case plus 'default').",
  })
  dynamicPorts!: boolean;

  @Field(() => Boolean, {
    description:
      "True for action steps: they have the optional 'error' port, which a step whose retries are exhausted follows (its error as its output) instead of failing the instance.",
  })
  hasErrorPort!: boolean;
}
