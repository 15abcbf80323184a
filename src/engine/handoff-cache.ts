import type { InstanceRecord, StepRunRecord } from '../ports/run.store.port.js';

/** What a worker knows about a step run it has just scheduled. */
export interface Handoff {
  readonly stepRun: StepRunRecord;
  readonly instance: InstanceRecord;
}

export interface HandoffCacheOptions {
  /** Entries kept at most; the oldest go first. */
  readonly maxEntries: number;
  /** An entry older than this is not used (its job probably went to another worker). */
  readonly maxAgeMs: number;
  readonly now: () => number;
}

/**
 * The step runs this process has just scheduled, as it committed them, so that when their job
 * reaches this same process the executor need not read back what it wrote a moment ago.
 *
 * Only a shortcut for the read: what the executor then writes is still a compare-and-set on the
 * step run's and the instance's state, so an entry that went stale meanwhile (the instance was
 * cancelled, another worker ran the step) makes that commit miss, exactly as a fresh read would.
 * Each entry is used once.
 */
export class HandoffCache {
  private readonly entries = new Map<string, { handoff: Handoff; at: number }>();

  constructor(private readonly options: HandoffCacheOptions) {}

  put(handoff: Handoff): void {
    const { maxEntries, maxAgeMs, now } = this.options;
    const at = now();
    this.entries.set(handoff.stepRun.id, { handoff, at });
    // Oldest first (insertion order): drop what is too old to be used, and past the size limit.
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= maxEntries && at - entry.at <= maxAgeMs) break;
      this.entries.delete(id);
    }
  }

  /** The entry for `stepRunId`, removed; undefined when there is none or it is too old. */
  take(stepRunId: string): Handoff | undefined {
    const entry = this.entries.get(stepRunId);
    if (!entry) return undefined;
    this.entries.delete(stepRunId);
    return this.options.now() - entry.at <= this.options.maxAgeMs ? entry.handoff : undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
