import type { Edge, Graph, Step } from '../domain/graph.js';
import type { JsonValue } from '../domain/json.js';

/** A published graph indexed for the engine: O(1) lookups by step and port, whatever its size. */
export interface CompiledVersion {
  readonly workflowId: string;
  readonly version: number;
  readonly triggerId: string | undefined;
  /** The workflow started when an instance of this version fails; null: none. */
  readonly failureHandlerWorkflowId: string | null;
  /**
   * Whether a reply that ends a wait.forMessage of this version's instances also starts workflows
   * (the workflow setting it was published with; a step's alsoStartWorkflows lets it too).
   */
  readonly repliesAlsoStartWorkflows: boolean;
  /** How many steps it has: what it weighs in the version cache. */
  readonly stepCount: number;
  step(id: string): Step | undefined;
  /** The step an output port leads to, if it has an edge. */
  target(from: string, port: string): string | undefined;
  incoming(id: string): readonly Edge[];
  outgoing(id: string): readonly Edge[];
  /** Ids of the earlier steps whose outputs a step's config refers to (`steps.<id>`). */
  referencedSteps(id: string): readonly string[];
}

const STEP_REFERENCE = /steps\.([A-Za-z][A-Za-z0-9_-]{0,63})/g;

/** Collects `steps.<id>` references from every string of a config (templates and condition paths). */
function referencesIn(value: JsonValue, into: Set<string>): void {
  const stack: JsonValue[] = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (typeof v === 'string') {
      for (const m of v.matchAll(STEP_REFERENCE)) into.add(m[1]!);
    } else if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v !== null && typeof v === 'object') {
      stack.push(...Object.values(v));
    }
  }
}

export function compileVersion(args: {
  workflowId: string;
  version: number;
  graph: Graph;
  failureHandlerWorkflowId?: string | null;
  /** Default false. */
  repliesAlsoStartWorkflows?: boolean;
  isTrigger: (type: string) => boolean;
}): CompiledVersion {
  const steps = new Map(args.graph.steps.map((s) => [s.id, s]));
  const out = new Map<string, Edge[]>();
  const into = new Map<string, Edge[]>();
  const byPort = new Map<string, string>();
  for (const e of args.graph.edges) {
    byPort.set(`${e.from}\u0000${e.port}`, e.to);
    (out.get(e.from) ?? out.set(e.from, []).get(e.from)!).push(e);
    (into.get(e.to) ?? into.set(e.to, []).get(e.to)!).push(e);
  }
  const refs = new Map<string, string[]>();
  const triggerId = args.graph.steps.find((s) => args.isTrigger(s.type))?.id;
  return {
    workflowId: args.workflowId,
    version: args.version,
    triggerId,
    failureHandlerWorkflowId: args.failureHandlerWorkflowId ?? null,
    repliesAlsoStartWorkflows: args.repliesAlsoStartWorkflows ?? false,
    stepCount: steps.size,
    step: (id) => steps.get(id),
    target: (from, port) => byPort.get(`${from}\u0000${port}`),
    incoming: (id) => into.get(id) ?? [],
    outgoing: (id) => out.get(id) ?? [],
    referencedSteps(id) {
      let list = refs.get(id);
      if (!list) {
        const found = new Set<string>();
        const step = steps.get(id);
        if (step) referencesIn(step.config, found);
        found.delete(id);
        list = [...found].filter((s) => steps.has(s));
        refs.set(id, list);
      }
      return list;
    },
  };
}
