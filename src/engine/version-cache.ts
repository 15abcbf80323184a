import { LRUCache } from 'lru-cache';
import { notFound } from '../domain/errors.js';
import type { StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { WorkflowStore } from '../ports/workflow.store.port.js';
import { compileVersion, type CompiledVersion } from './compiled-version.js';

/** Steps the cache holds in all, by default: a few thousand small workflows or a few large ones. */
const DEFAULT_MAX_STEPS = 100_000;

/**
 * Published versions are immutable, so each is loaded and indexed once per process and kept in an
 * LRU weighed by steps: running a step costs the same on a 10-step and a 2,000-step workflow, and
 * a thousand schedules ticking in the same second do not each load their version again.
 */
export class VersionCache {
  private readonly loaded: LRUCache<string, CompiledVersion>;
  /** Loads under way, so that concurrent misses of one version load it once. */
  private readonly loading = new Map<string, Promise<CompiledVersion>>();

  constructor(private readonly options: { store: WorkflowStore; catalog: StepTypeCatalog; maxSteps?: number }) {
    this.loaded = new LRUCache({ maxSize: options.maxSteps ?? DEFAULT_MAX_STEPS, sizeCalculation: (v) => v.stepCount + 1 });
  }

  get(workflowId: string, version: number): Promise<CompiledVersion> {
    const key = `${workflowId}@${version}`;
    const hit = this.loaded.get(key);
    if (hit) return Promise.resolve(hit);
    const pending = this.loading.get(key);
    if (pending) return pending;
    const load = this.load(workflowId, version).then(
      (compiled) => {
        this.loading.delete(key);
        // One larger than the whole cache is used, not kept.
        if (compiled.stepCount + 1 <= this.loaded.maxSize) this.loaded.set(key, compiled);
        return compiled;
      },
      (err: unknown) => {
        this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, load);
    return load;
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
