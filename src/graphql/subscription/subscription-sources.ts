import { notFound } from '../../domain/errors.js';
import type { RunQueryStore } from '../../ports/run-query.store.port.js';
import type { WorkflowStore } from '../../ports/workflow.store.port.js';
import { decodeWorkflowCursor } from '../../domain/workflow-cursor.js';
import type { LiveStreams } from '../../ports/live-streams.port.js';
import type { Actor } from '../../services/api-key.service.js';

/**
 * What subscription resolvers stream from. Subscribe functions are static (decorator options), so
 * they reach the services through the context; every stream is checked against the actor's
 * workspace before it opens.
 */
export class SubscriptionSources {
  constructor(
    private readonly deps: { realtime: LiveStreams; runs: RunQueryStore; workflows: WorkflowStore },
  ) {}

  async instanceEvents(actor: Actor, instanceId: string, since: number | undefined) {
    const instance = await this.deps.runs.getInstance(actor.workspaceId, instanceId);
    if (!instance) throw notFound('Instance', instanceId);
    return this.deps.realtime.instanceEvents(instance.id, since ?? instance.eventSeq);
  }

  async workflowEvents(actor: Actor, workflowId: string, since: string | undefined) {
    const cursor = since === undefined ? undefined : decodeWorkflowCursor(since);
    if (!(await this.deps.workflows.get(actor.workspaceId, workflowId))) throw notFound('Workflow', workflowId);
    return this.deps.realtime.workflowEvents(actor.workspaceId, workflowId, cursor);
  }

  async workflowEventBatches(actor: Actor, workflowId: string, since: string | undefined) {
    const cursor = since === undefined ? undefined : decodeWorkflowCursor(since);
    if (!(await this.deps.workflows.get(actor.workspaceId, workflowId))) throw notFound('Workflow', workflowId);
    return this.deps.realtime.workflowEventBatches(actor.workspaceId, workflowId, cursor);
  }

  async draftChanges(actor: Actor, workflowId: string) {
    if (!(await this.deps.workflows.get(actor.workspaceId, workflowId))) throw notFound('Workflow', workflowId);
    return this.deps.realtime.draftChanges(actor.workspaceId, workflowId);
  }

  /** The instance as it is now (for `InstanceUpdate.instance`). */
  instance(actor: Actor, id: string) {
    return this.deps.runs.getInstance(actor.workspaceId, id);
  }
}
