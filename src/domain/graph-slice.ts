import type { EditOp } from './edit-op.js';
import type { Edge, Step, WorkflowMeta } from './graph.js';

/**
 * A partial, in-memory view of one draft: the steps an edit needs, ALL edges incident to them
 * (outgoing and incoming), and the ids known not to exist. The storage layer fills it with
 * `addLoaded` (the ids to load come from `stepsNeeded`); edit compilation reads it and keeps it
 * current with `apply`, so each command of a batch sees the effect of the ones before.
 *
 * What the slice knows about a step id is one of:
 * - loaded: its row and every incident edge are here;
 * - known to exist: it is the end of an edge here (the store's foreign keys guarantee it exists),
 *   but its row and its other edges are not;
 * - known missing: the caller looked it up and it was not there, or an op deleted it;
 * - unknown: nobody asked.
 *
 * A question the slice cannot answer (the row of a step that is not loaded, the edges of a step
 * whose edges are not all here) throws a plain `Error`: that is a bug in the caller, which must
 * load what `stepsNeeded` lists, never a reason to treat the step as missing.
 */
export class GraphSlice {
  private currentMeta: WorkflowMeta;
  private count: number;
  private readonly loaded = new Map<string, Step>();
  /** Ends of edges seen here; they exist even when their rows are not loaded. */
  private readonly referenced = new Set<string>();
  private readonly missing = new Set<string>();
  /** from → port → edge: at most one edge per (from, port). */
  private readonly out = new Map<string, Map<string, Edge>>();
  /** to → edge key → edge. */
  private readonly into = new Map<string, Map<string, Edge>>();
  private applied = false;

  /**
   * @param meta The workflow's name, description and settings as stored.
   * @param stepCount How many steps the whole draft holds (not just the loaded ones).
   */
  constructor(meta: WorkflowMeta, stepCount: number) {
    if (!Number.isInteger(stepCount) || stepCount < 0) {
      throw new Error(`stepCount must be a non-negative integer, got ${stepCount}`);
    }
    this.currentMeta = meta;
    this.count = stepCount;
  }

  /** The workflow's name and description, with applied patches. */
  get meta(): WorkflowMeta {
    return this.currentMeta;
  }

  /** Steps in the whole draft, with applied inserts and deletes. */
  get stepCount(): number {
    return this.count;
  }

  /**
   * Records rows read from storage: `steps` with ALL their incident edges, and `missingIds`, ids
   * that were asked for and do not exist. May be called several times, but only before the first
   * `apply` (rows read later could be older than the slice). An edge may come twice (as outgoing
   * of one loaded step and incoming of another).
   */
  addLoaded(steps: readonly Step[], edges: readonly Edge[], missingIds: readonly string[] = []): void {
    if (this.applied) throw new Error('load the slice before applying ops to it');
    const loadedIds = new Set(steps.map((s) => s.id));
    const missingNow = new Set(missingIds);
    for (const id of loadedIds) {
      if (this.missing.has(id) || missingNow.has(id)) throw new Error(`step ${id} is loaded but also listed as missing`);
    }
    for (const id of missingNow) {
      if (this.loaded.has(id) || this.referenced.has(id)) throw new Error(`step ${id} is listed as missing but is known to exist`);
    }
    const isMissing = (id: string): boolean => this.missing.has(id) || missingNow.has(id);
    const seen = new Map<string, string>();
    for (const edge of edges) {
      if (isMissing(edge.from) || isMissing(edge.to)) {
        throw new Error(`edge ${describeEdge(edge)} touches a step listed as missing`);
      }
      const key = edgeKey(edge);
      const target = this.out.get(edge.from)?.get(edge.port)?.to ?? seen.get(key);
      if (target !== undefined && target !== edge.to) {
        throw new Error(`two edges on port ${edge.port} of ${edge.from}: to ${target} and to ${edge.to}`);
      }
      seen.set(key, edge.to);
    }
    for (const step of steps) this.loaded.set(step.id, step);
    for (const id of missingIds) this.missing.add(id);
    for (const edge of edges) {
      if (!this.out.get(edge.from)?.has(edge.port)) this.indexEdge(edge);
    }
  }

  /** Whether the step's row and all its incident edges are in the slice. */
  isLoaded(id: string): boolean {
    return this.loaded.has(id);
  }

  /**
   * Whether the step exists: true when loaded or the end of an edge here, false when known
   * missing. Throws when the slice does not know.
   */
  hasStep(id: string): boolean {
    if (this.loaded.has(id) || this.referenced.has(id)) return true;
    if (this.missing.has(id)) return false;
    throw new Error(`slice does not hold step ${id}`);
  }

  /**
   * The step's row, or `undefined` when the step is known not to exist. Throws when the row is
   * not loaded, even if the step is known to exist.
   */
  getStep(id: string): Step | undefined {
    const step = this.loaded.get(id);
    if (step) return step;
    if (this.missing.has(id)) return undefined;
    throw new Error(`slice does not hold step ${id}`);
  }

  /** Edges leaving a loaded step (none for a missing one). Throws when the step is not loaded. */
  outgoing(id: string): Edge[] {
    this.assertEdgesKnown(id);
    return [...(this.out.get(id)?.values() ?? [])];
  }

  /** Edges entering a loaded step (none for a missing one). Throws when the step is not loaded. */
  incoming(id: string): Edge[] {
    this.assertEdgesKnown(id);
    return [...(this.into.get(id)?.values() ?? [])];
  }

  /** The edge on port `port` of step `from`. Throws when `from` is not loaded. */
  edgeAt(from: string, port: string): Edge | undefined {
    this.assertEdgesKnown(from);
    return this.out.get(from)?.get(port);
  }

  /**
   * Applies one primitive op, as storage would. Throws a plain `Error` (leaving the slice as it
   * was) when the op does not fit what the slice holds: deleting a step that still has edges or
   * is not loaded, inserting a step that exists, taking an occupied port, deleting an edge that
   * is not there.
   */
  apply(op: EditOp): void {
    switch (op.op) {
      case 'insertStep': {
        const { id } = op.step;
        if (this.loaded.has(id) || this.referenced.has(id)) throw new Error(`step ${id} already exists`);
        this.applied = true;
        this.missing.delete(id);
        this.loaded.set(id, op.step);
        this.count++;
        return;
      }
      case 'deleteStep': {
        const { id } = op.step;
        if (!this.loaded.has(id)) throw new Error(`slice does not hold step ${id}`);
        if ((this.out.get(id)?.size ?? 0) > 0 || (this.into.get(id)?.size ?? 0) > 0) {
          throw new Error(`step ${id} still has edges`);
        }
        this.applied = true;
        this.loaded.delete(id);
        this.referenced.delete(id);
        this.out.delete(id);
        this.into.delete(id);
        this.missing.add(id);
        this.count--;
        return;
      }
      case 'patchStep': {
        const step = this.loaded.get(op.id);
        if (!step) throw new Error(`slice does not hold step ${op.id}`);
        this.applied = true;
        this.loaded.set(op.id, { ...step, ...op.after });
        return;
      }
      case 'insertEdge': {
        const { edge } = op;
        if (this.missing.has(edge.from) || this.missing.has(edge.to)) {
          throw new Error(`edge ${describeEdge(edge)} touches a missing step`);
        }
        if (this.out.get(edge.from)?.has(edge.port)) {
          throw new Error(`port ${edge.port} of ${edge.from} already has an edge`);
        }
        this.applied = true;
        this.indexEdge(edge);
        return;
      }
      case 'deleteEdge': {
        const { edge } = op;
        const present = this.out.get(edge.from)?.get(edge.port);
        if (!present || present.to !== edge.to) throw new Error(`slice does not hold edge ${describeEdge(edge)}`);
        this.applied = true;
        this.out.get(edge.from)?.delete(edge.port);
        this.into.get(edge.to)?.delete(edgeKey(edge));
        return;
      }
      case 'patchWorkflow':
        this.applied = true;
        this.currentMeta = { ...this.currentMeta, ...op.after };
        return;
    }
  }

  /** Applies ops in order. Not atomic: on a throw, the ops before it stay applied. */
  applyAll(ops: readonly EditOp[]): void {
    for (const op of ops) this.apply(op);
  }

  private indexEdge(edge: Edge): void {
    let ports = this.out.get(edge.from);
    if (!ports) this.out.set(edge.from, (ports = new Map()));
    ports.set(edge.port, edge);
    let entering = this.into.get(edge.to);
    if (!entering) this.into.set(edge.to, (entering = new Map()));
    entering.set(edgeKey(edge), edge);
    this.referenced.add(edge.from);
    this.referenced.add(edge.to);
  }

  private assertEdgesKnown(id: string): void {
    if (!this.loaded.has(id) && !this.missing.has(id)) throw new Error(`slice does not hold step ${id}`);
  }
}

// Step ids cannot contain NUL (STEP_ID_PATTERN), so the key is unambiguous whatever the port name.
const edgeKey = (edge: Edge): string => `${edge.from}\u0000${edge.port}`;

const describeEdge = (edge: Edge): string => `${edge.from}.${edge.port} -> ${edge.to}`;
