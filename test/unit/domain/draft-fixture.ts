import type { EditOp } from '../../../src/domain/edit-op.js';
import type { Edge, Graph, Step, WorkflowMeta } from '../../../src/domain/graph.js';
import { GraphSlice } from '../../../src/domain/graph-slice.js';

/** A whole draft as a store holds it. */
export interface Draft extends Graph {
  readonly meta: WorkflowMeta;
}

/** Loads a slice from a whole draft the way storage does: the asked-for rows with all their incident edges. */
export const loadSlice = (draft: Draft, ids: readonly string[]): GraphSlice => {
  const slice = new GraphSlice(draft.meta, draft.steps.length);
  const wanted = new Set(ids);
  const steps = draft.steps.filter((s) => wanted.has(s.id));
  const found = new Set(steps.map((s) => s.id));
  const incident = draft.edges.filter((e) => wanted.has(e.from) || wanted.has(e.to));
  slice.addLoaded(steps, incident, [...wanted].filter((id) => !found.has(id)));
  return slice;
};

/**
 * Applies ops to a whole draft as a store with foreign keys and a unique (from, port) would:
 * an op that does not fit throws.
 */
export const applyOps = (draft: Draft, ops: readonly EditOp[]): Draft => {
  const steps = new Map(draft.steps.map((s) => [s.id, s]));
  const edges = new Map(draft.edges.map((e) => [`${e.from}/${e.port}`, e]));
  let meta = draft.meta;
  for (const op of ops) {
    switch (op.op) {
      case 'insertStep':
        if (steps.has(op.step.id)) throw new Error(`duplicate step ${op.step.id}`);
        steps.set(op.step.id, op.step);
        break;
      case 'deleteStep':
        if (!steps.has(op.step.id)) throw new Error(`no step ${op.step.id}`);
        for (const e of edges.values()) {
          if (e.from === op.step.id || e.to === op.step.id) throw new Error(`fk: step ${op.step.id} has edges`);
        }
        steps.delete(op.step.id);
        break;
      case 'patchStep': {
        const s = steps.get(op.id);
        if (!s) throw new Error(`no step ${op.id}`);
        steps.set(op.id, { ...s, ...op.after });
        break;
      }
      case 'insertEdge': {
        const key = `${op.edge.from}/${op.edge.port}`;
        if (!steps.has(op.edge.from) || !steps.has(op.edge.to)) throw new Error(`fk: edge ${key}`);
        if (edges.has(key)) throw new Error(`unique: edge ${key}`);
        edges.set(key, op.edge);
        break;
      }
      case 'deleteEdge': {
        const key = `${op.edge.from}/${op.edge.port}`;
        if (edges.get(key)?.to !== op.edge.to) throw new Error(`no edge ${key}`);
        edges.delete(key);
        break;
      }
      case 'patchWorkflow':
        meta = { ...meta, ...op.after };
        break;
    }
  }
  return { meta, steps: [...steps.values()], edges: [...edges.values()] };
};

/** A draft in a canonical order, for comparing drafts regardless of row order. */
export const canonical = (draft: Draft): Draft => ({
  meta: draft.meta,
  steps: [...draft.steps].sort((a: Step, b: Step) => a.id.localeCompare(b.id)),
  edges: [...draft.edges].sort((a: Edge, b: Edge) => `${a.from}/${a.port}`.localeCompare(`${b.from}/${b.port}`)),
});
