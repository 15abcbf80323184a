import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { JsonObject } from '../../domain/json.js';
import type { GraphQLContext } from '../context.js';
import { JSONObjectScalar } from '../common/scalars.js';
import { Edge, Step, WorkflowVersion } from './workflow.type.js';
import { toStep } from './workflow.mapper.js';

/** Step configs: at hand (a version's graph, a page that asked for them), or read on their own. */
@Resolver(() => Step)
export class StepResolver {
  @FieldResolver(() => JSONObjectScalar)
  async config(@Root() step: Step, @Ctx() ctx: GraphQLContext): Promise<JsonObject> {
    if (step.config !== undefined) return step.config;
    if (step.workflowId === undefined) throw new Error(`step '${step.id}' has neither its config nor its workflow`);
    // A page reads its configs with the page when its selection asks for them (WorkflowResolver.steps);
    // this is for a selection that reaches a step otherwise.
    const listed = Promise.resolve([{ id: step.id, configBytes: step.configBytes ?? 0 }]);
    const config = (await ctx.largeValues.stepConfigs(step.workflowId, listed)).get(step.id);
    if (config === undefined) throw new Error(`the config of step '${step.id}' vanished while it was read`);
    return config;
  }
}

/** A version's graph: at hand (just published), or read once when its steps or edges are asked for. */
@Resolver(() => WorkflowVersion)
export class WorkflowVersionResolver {
  @FieldResolver(() => [Step])
  async steps(@Root() version: WorkflowVersion, @Ctx() ctx: GraphQLContext): Promise<Step[]> {
    return version.steps ?? (await graphOf(version, ctx)).steps.map(toStep);
  }

  @FieldResolver(() => [Edge])
  async edges(@Root() version: WorkflowVersion, @Ctx() ctx: GraphQLContext): Promise<Edge[]> {
    return version.edges ?? (await graphOf(version, ctx)).edges.map((e) => Object.assign(new Edge(), e));
  }
}

async function graphOf(version: WorkflowVersion, ctx: GraphQLContext) {
  const graph = await ctx.largeValues.versionGraph({
    workflowId: version.workflowId,
    version: version.version,
    graphBytes: version.graphBytes ?? 0,
  });
  if (!graph) throw new Error(`version ${version.version} of workflow ${version.workflowId} vanished while it was read`);
  return graph;
}
