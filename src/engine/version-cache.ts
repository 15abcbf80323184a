import { LRUCache } from 'lru-cache';
import { notFound } from '../domain/errors.js';
import type { StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { WorkflowStore, WorkflowVersionRecord } from '../ports/workflow.store.port.js';
import { compileVersion, type CompiledVersion } from './compiled-version.js';

/** Versions read per query when many miss at once. */
const READ_BATCH = 200;

/** A version asked for and not held: read with the others of its turn. */
interface Miss {
  readonly workflowId: string;
  readonly version: number;
  readonly key: string;
  readonly resolve: (compiled: CompiledVersion) => void;
  readonly reject: (err: unknown) => void;
}

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
  /** Misses of this turn, read together once it ends. */
  private misses: Miss[] | undefined;

  constructor(private readonly options: { store: WorkflowStore; catalog: StepTypeCatalog; maxSteps?: number }) {
    this.loaded = new LRUCache({ maxSize: options.maxSteps ?? DEFAULT_MAX_STEPS, sizeCalculation: (v) => v.stepCount + 1 });
  }

  get(workflowId: string, version: number): Promise<CompiledVersion> {
    const key = `${workflowId}@${version}`;
    const hit = this.loaded.get(key);
    if (hit) return Promise.resolve(hit);
    const pending = this.loading.get(key);
    if (pending) return pending;
    const load = new Promise<CompiledVersion>((resolve, reject) => this.request({ workflowId, version, key, resolve, reject })).then(
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

  /**
   * Misses asked for in the same turn are read together, in one query per {@link READ_BATCH}: a
   * burst of a thousand schedule ticks used to make a thousand reads of a version each.
   */
  private request(miss: Miss): void {
    if (!this.misses) {
      this.misses = [];
      queueMicrotask(() => this.readMisses());
    }
    this.misses.push(miss);
  }

  private readMisses(): void {
    const misses = this.misses ?? [];
    this.misses = undefined;
    for (let i = 0; i < misses.length; i += READ_BATCH) void this.read(misses.slice(i, i + READ_BATCH));
  }

  private async read(misses: readonly Miss[]): Promise<void> {
    let records: Map<string, WorkflowVersionRecord>;
    try {
      const found = await this.options.store.getVersions(misses.map(({ workflowId, version }) => ({ workflowId, version })));
      records = new Map(found.map((r) => [`${r.workflowId}@${r.version}`, r]));
    } catch (err) {
      for (const miss of misses) miss.reject(err);
      return;
    }
    for (const miss of misses) {
      const record = records.get(miss.key);
      if (!record) {
        miss.reject(notFound('Version', `${miss.workflowId}@${miss.version}`));
        continue;
      }
      try {
        miss.resolve(
          compileVersion({
            workflowId: miss.workflowId,
            version: miss.version,
            graph: record.graph,
            failureHandlerWorkflowId: record.failureHandlerWorkflowId,
            repliesAlsoStartWorkflows: record.repliesAlsoStartWorkflows,
            isTrigger: (type) => this.options.catalog.get(type)?.category === 'trigger',
          }),
        );
      } catch (err) {
        miss.reject(err);
      }
    }
  }
}
