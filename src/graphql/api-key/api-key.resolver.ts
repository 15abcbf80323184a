import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { notFound } from '../../domain/errors.js';
import type { ApiKeyStore } from '../../ports/api-key.store.port.js';
import type { ApiKeyService } from '../../services/api-key.service.js';
import type { GraphQLContext } from '../context.js';
import { ApiKey, CreatedApiKey, Workspace } from './api-key.type.js';

@Resolver()
export class ApiKeyResolver {
  constructor(private readonly deps: { keys: ApiKeyService; store: ApiKeyStore }) {}

  @Query(() => Workspace, { description: 'The workspace your API key belongs to.' })
  async workspace(@Ctx() ctx: GraphQLContext): Promise<Workspace> {
    const ws = await this.deps.store.getWorkspace(ctx.actor.workspaceId);
    if (!ws) throw notFound('Workspace', ctx.actor.workspaceId);
    return Object.assign(new Workspace(), ws);
  }

  @Query(() => [ApiKey], { description: 'Every API key of your workspace, revoked ones included.' })
  async apiKeys(@Ctx() ctx: GraphQLContext): Promise<ApiKey[]> {
    return (await this.deps.keys.listKeys(ctx.actor)).map((k) => Object.assign(new ApiKey(), k));
  }

  @Mutation(() => CreatedApiKey, { description: 'A new key for your workspace; its secret is returned only here.' })
  async createApiKey(@Arg('name', () => String) name: string, @Ctx() ctx: GraphQLContext): Promise<CreatedApiKey> {
    const { record, secret } = await this.deps.keys.createKey(ctx.actor, name);
    return Object.assign(new CreatedApiKey(), { apiKey: Object.assign(new ApiKey(), record), secret });
  }

  @Mutation(() => ApiKey, { description: 'Revokes a key at once; requests with it are refused from then on.' })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKey> {
    return Object.assign(new ApiKey(), await this.deps.keys.revokeKey(ctx.actor, id));
  }
}
