import type { Graph } from '../../domain/graph.js';
import type { JsonObject, JsonValue } from '../../domain/json.js';
import { ResponseBudget, responseTooLarge } from '../hardening/response-budget.js';

/** Where large values are read from. */
export interface LargeValueSource {
  stepConfigs(workflowId: string, stepIds: readonly string[]): Promise<Map<string, JsonObject>>;
  versionGraph(workflowId: string, version: number): Promise<Graph | undefined>;
  instanceInputs(instanceIds: readonly string[]): Promise<Map<string, JsonValue>>;
}

/** Something listed with the size of its large value, as the store keeps it (JSON text bytes). */
interface Weighed {
  readonly id: string;
  readonly bytes: number;
}

/**
 * The large values of one execution (step configs, version graphs, trigger inputs), read only when
 * the answer asks for them, a page at a time, and weighed against the execution's
 * {@link ResponseBudget} (with the sizes the store keeps beside them) before anything is read: a
 * read starts only once every read the execution has begun is weighed, and only if they all fit.
 * So aliases that together would answer more than the budget allows are refused before any of
 * their data is loaded, however their listings interleave; a refused answer costs its listings.
 *
 * A read is begun synchronously when a resolver calls one of the methods below, with its listing
 * still on its way (a promise): the resolvers of sibling fields are all called before any of them
 * awaits, so siblings are weighed together.
 */
export class LargeValues {
  /** A version's graph is read once per execution, however many of its fields ask. */
  private readonly graphs = new Map<string, Promise<Graph | undefined>>();
  /** Reads begun but not weighed yet. */
  private unweighed = 0;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly source: LargeValueSource,
    readonly budget: ResponseBudget,
  ) {}

  /** A fresh set for the next execution (a subscription's next event): its own budget, nothing cached. */
  renew(): LargeValues {
    return new LargeValues(this.source, new ResponseBudget(this.budget.maxBytes));
  }

  /** Configs of these listed draft steps, by id; LIMIT_EXCEEDED, before reading, when the answer would not fit. */
  stepConfigs(workflowId: string, steps: Promise<readonly { id: string; configBytes: number }[]>): Promise<Map<string, JsonObject>> {
    return this.read(
      steps.then((list) => list.map((s) => ({ id: s.id, bytes: s.configBytes }))),
      (ids) => this.source.stepConfigs(workflowId, ids),
    );
  }

  /** A version's graph; LIMIT_EXCEEDED, before reading, when the answer would not fit. */
  versionGraph(version: { workflowId: string; version: number; graphBytes: number }): Promise<Graph | undefined> {
    const key = `${version.workflowId}/${version.version}`;
    let graph = this.graphs.get(key);
    if (!graph) {
      graph = this.read(Promise.resolve([{ id: key, bytes: version.graphBytes }]), () =>
        this.source.versionGraph(version.workflowId, version.version),
      );
      this.graphs.set(key, graph);
    }
    return graph;
  }

  /** Trigger inputs of these listed instances, by id; LIMIT_EXCEEDED, before reading, when the answer would not fit. */
  instanceInputs(instances: Promise<readonly { id: string; inputBytes: number }[]>): Promise<Map<string, JsonValue>> {
    return this.read(
      instances.then((list) => list.map((i) => ({ id: i.id, bytes: i.inputBytes }))),
      (ids) => this.source.instanceInputs(ids),
    );
  }

  /**
   * Reads the large values of `listing` once it has arrived, its weight reserved, every other read
   * begun so far weighed, and the budget still holding.
   */
  private async read<T>(listing: Promise<readonly Weighed[]>, load: (ids: readonly string[]) => Promise<T>): Promise<T> {
    this.unweighed++;
    let weighed = false;
    const settle = () => {
      if (weighed) return;
      weighed = true;
      if (--this.unweighed === 0) for (const wake of this.waiting.splice(0)) wake();
    };
    let items: readonly Weighed[];
    try {
      items = await listing;
      this.budget.reserve(items.reduce((sum, i) => sum + i.bytes, 0));
    } finally {
      // Weighed, refused, or its listing failed (a bad cursor): it must not hold the others up.
      settle();
    }
    if (this.unweighed > 0) await new Promise<void>((wake) => this.waiting.push(wake));
    if (this.budget.exceeded) throw responseTooLarge(this.budget.maxBytes);
    return load(items.map((i) => i.id));
  }
}
