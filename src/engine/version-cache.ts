import { notFound } from '../domain/errors.js';
import type { StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { WorkflowStore } from '../ports/workflow.store.port.js';
import { compileVersion, type CompiledVersion } from './compiled-version.js';

/**
 * Published versions are immutable, so each is loaded and indexed once per process and kept in a
 * small LRU: running a step costs the same on a 10-step and a 2,000-step workflow.
 */
export class VersionCache {
  private readonly entries = new Map<string, Promise<CompiledVersion>>();

  constructor(
    private readonly options: { store: WorkflowStore; catalog: StepTypeCatalog; capacity?: number },
  ) {}

  get(workflowId: string, version: number): Promise<CompiledVersion> {
    const key = `${workflowId}@${version}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const loading = this.load(workflowId, version);
    this.entries.set(key, loading);
    loading.catch(() => this.entries.delete(key));
    const capacity = this.options.capacity ?? 200;
    while (this.entries.size > capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return loading;
  }

  private async load(workflowId: string, version: number): Promise<CompiledVersion> {
    const record = await this.options.store.getVersion(workflowId, version);
    if (!record) throw notFound('Version', `${workflowId}@${version}`);
    return compileVersion({
      workflowId,
      version,
      graph: record.graph,
      failureHandlerWorkflowId: record.failureHandlerWorkflowId,
      isTrigger: (type) => this.options.catalog.get(type)?.category === 'trigger',
    });
  }
}
