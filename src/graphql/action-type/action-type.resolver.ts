import { Arg, Query, Resolver } from 'type-graphql';
import type { ActionDefinition } from '../../actions/action-definition.js';
import type { ActionRegistry } from '../../actions/action-registry.js';
import type { JsonValue } from '../../domain/json.js';
import { ActionType, StepCategory } from './action-type.type.js';

function toActionType(d: ActionDefinition): ActionType {
  return Object.assign(new ActionType(), {
    type: d.type,
    category: d.category.toUpperCase() as StepCategory,
    displayName: d.displayName,
    description: d.description,
    configSchema: d.jsonSchema() as JsonValue,
    outputPorts: d.listedPorts.map((p) => ({ ...p })),
    dynamicPorts: d.dynamicPorts,
    hasErrorPort: d.hasErrorPort,
  });
}

@Resolver(() => ActionType)
export class ActionTypeResolver {
  constructor(private readonly registry: ActionRegistry) {}

  @Query(() => [ActionType], { description: 'Every step type a workflow can use.' })
  actionTypes(@Arg('category', () => StepCategory, { nullable: true }) category?: StepCategory): ActionType[] {
    return this.registry
      .list()
      .filter((d) => !category || d.category.toUpperCase() === category)
      .map(toActionType);
  }
}
