import { ERROR_PORT, type Graph, type Step } from './graph.js';
import { scheduleIssue, type ScheduleRules } from './schedule-rules.js';
import type { StepTypeCatalog } from './step-type-catalog.js';

/** What is wrong with a graph that keeps it from being published. */
export const ValidationCode = {
  /** No step is a trigger, so nothing can start a run. */
  NO_TRIGGER: 'NO_TRIGGER',
  /** More than one trigger; reported once per trigger. */
  MULTIPLE_TRIGGERS: 'MULTIPLE_TRIGGERS',
  /** A step's type is not in the catalog. */
  UNKNOWN_STEP_TYPE: 'UNKNOWN_STEP_TYPE',
  /** A step's config does not pass its type's check; reported once per issue. */
  INVALID_CONFIG: 'INVALID_CONFIG',
  /** An edge leaves from a port its step does not have. */
  UNKNOWN_PORT: 'UNKNOWN_PORT',
  /** An `error` edge leaves a step whose type has no error port (only action steps have one). */
  NO_ERROR_PORT: 'NO_ERROR_PORT',
  /** The workflow's failure handler is not a published workflow of the same workspace, or is itself. */
  INVALID_FAILURE_HANDLER: 'INVALID_FAILURE_HANDLER',
  /** An edge leads to or from a step that is not in the graph. */
  DANGLING_EDGE: 'DANGLING_EDGE',
  /** A required port has no edge. */
  MISSING_REQUIRED_EDGE: 'MISSING_REQUIRED_EDGE',
  /** The step lies on a cycle; reported once per step on one. */
  CYCLE: 'CYCLE',
  /** The step cannot be reached from a trigger. */
  UNREACHABLE_STEP: 'UNREACHABLE_STEP',
  /** An edge enters a trigger. */
  EDGE_INTO_TRIGGER: 'EDGE_INTO_TRIGGER',
  /** A second edge on the same port of the same step. */
  DUPLICATE_PORT_EDGE: 'DUPLICATE_PORT_EDGE',
  /** A second step with an id already used. */
  DUPLICATE_STEP_ID: 'DUPLICATE_STEP_ID',
} as const;
export type ValidationCode = (typeof ValidationCode)[keyof typeof ValidationCode];

/**
 * One problem found by `validateGraph`. Step problems carry `stepId`; edge problems carry the
 * edge's origin as `stepId` and `port` (an edge is identified by its `from` and `port`).
 */
export interface ValidationProblem {
  readonly code: ValidationCode;
  readonly message: string;
  readonly stepId?: string;
  readonly port?: string;
}

/** Deployment rules validation applies besides each type's own config check. */
export interface GraphValidationOptions {
  /** What schedule triggers may do; without it only schedules that never fire are refused. */
  readonly schedules?: ScheduleRules;
}

/**
 * Checks a whole graph for publishing and reports every problem at once, in a stable order: step
 * problems, trigger count, edge problems, missing required edges, cycles, unreachable steps.
 * Linear in steps plus edges (plus the configs' own checks), and iterative, so long chains
 * cannot overflow the stack. A step whose type is unknown or whose config is invalid has no
 * known ports, so its edges' ports and its required edges are not checked. Reachability is only
 * checked when there is a trigger.
 */
export const validateGraph = (graph: Graph, catalog: StepTypeCatalog, options: GraphValidationOptions = {}): ValidationProblem[] => {
  const problems: ValidationProblem[] = [];

  // Steps, by dense index so the graph walks below can use typed arrays.
  const steps: Step[] = [];
  const indexOf = new Map<string, number>();
  const portsOf = new Map<string, { readonly all: Set<string>; readonly required: readonly string[] }>();
  const triggers: number[] = [];
  for (const step of graph.steps) {
    if (indexOf.has(step.id)) {
      problems.push({
        code: ValidationCode.DUPLICATE_STEP_ID,
        message: `Step id '${step.id}' is used by more than one step`,
        stepId: step.id,
      });
      continue;
    }
    indexOf.set(step.id, steps.length);
    steps.push(step);
    const info = catalog.get(step.type);
    if (!info) {
      problems.push({
        code: ValidationCode.UNKNOWN_STEP_TYPE,
        message: `${describe(step)} has unknown type '${step.type}'`,
        stepId: step.id,
      });
      continue;
    }
    if (info.category === 'trigger') triggers.push(steps.length - 1);
    const check = info.checkConfig(step.config);
    if (!check.ok) {
      for (const issue of check.issues) {
        const path = issue.path ? `config.${issue.path}` : 'config';
        problems.push({
          code: ValidationCode.INVALID_CONFIG,
          message: `${describe(step)}: ${path}: ${issue.message}`,
          stepId: step.id,
        });
      }
      continue;
    }
    const schedule = scheduleIssue(info, check.config, options.schedules);
    if (schedule) {
      problems.push({
        code: ValidationCode.INVALID_CONFIG,
        message: `${describe(step)}: config.${schedule.path}: ${schedule.message}`,
        stepId: step.id,
      });
    }
    const ports = info.outputPorts(check.config);
    portsOf.set(step.id, {
      all: new Set(ports.map((p) => p.name)),
      required: ports.filter((p) => p.required).map((p) => p.name),
    });
  }

  if (triggers.length === 0) {
    problems.push({ code: ValidationCode.NO_TRIGGER, message: 'The workflow has no trigger step' });
  } else if (triggers.length > 1) {
    for (const t of triggers) {
      const step = steps[t] as Step;
      problems.push({
        code: ValidationCode.MULTIPLE_TRIGGERS,
        message: `${describe(step)} is one of ${triggers.length} triggers; a workflow has exactly one`,
        stepId: step.id,
      });
    }
  }
  const isTrigger = new Uint8Array(steps.length);
  for (const t of triggers) isTrigger[t] = 1;

  // Edges: successor lists by index, and the ports that have an edge.
  const successors: number[][] = steps.map(() => []);
  const selfLoop = new Uint8Array(steps.length);
  const usedPorts = new Map<string, Set<string>>();
  for (const edge of graph.edges) {
    const from = indexOf.get(edge.from);
    const to = indexOf.get(edge.to);
    if (from === undefined || to === undefined) {
      const absent = from === undefined ? edge.from : edge.to;
      problems.push({
        code: ValidationCode.DANGLING_EDGE,
        message: `The edge from '${edge.from}' (${edge.port}) to '${edge.to}' refers to step '${absent}', which does not exist`,
        stepId: edge.from,
        port: edge.port,
      });
      continue;
    }
    const fromStep = steps[from] as Step;
    let used = usedPorts.get(edge.from);
    if (!used) usedPorts.set(edge.from, (used = new Set()));
    if (used.has(edge.port)) {
      problems.push({
        code: ValidationCode.DUPLICATE_PORT_EDGE,
        message: `Port '${edge.port}' of ${describe(fromStep)} has more than one edge`,
        stepId: edge.from,
        port: edge.port,
      });
    }
    used.add(edge.port);
    const ports = portsOf.get(edge.from);
    if (ports && !ports.all.has(edge.port)) {
      const errorEdge = edge.port === ERROR_PORT;
      problems.push({
        code: errorEdge ? ValidationCode.NO_ERROR_PORT : ValidationCode.UNKNOWN_PORT,
        message: errorEdge
          ? `${describe(fromStep)} has no error port: only action steps (messages, HTTP) can follow an error edge`
          : `${describe(fromStep)} has no port '${edge.port}'`,
        stepId: edge.from,
        port: edge.port,
      });
    }
    if (isTrigger[to]) {
      problems.push({
        code: ValidationCode.EDGE_INTO_TRIGGER,
        message: `Port '${edge.port}' of ${describe(fromStep)} leads into trigger ${describe(steps[to] as Step)}`,
        stepId: edge.from,
        port: edge.port,
      });
    }
    (successors[from] as number[]).push(to);
    if (from === to) selfLoop[from] = 1;
  }

  for (const step of steps) {
    const ports = portsOf.get(step.id);
    if (!ports) continue;
    const used = usedPorts.get(step.id);
    for (const port of ports.required) {
      if (!used?.has(port)) {
        problems.push({
          code: ValidationCode.MISSING_REQUIRED_EDGE,
          message: `Port '${port}' of ${describe(step)} must be connected`,
          stepId: step.id,
          port,
        });
      }
    }
  }

  const cycleSize = stepsOnCycles(successors, selfLoop);
  steps.forEach((step, i) => {
    const size = cycleSize[i] as number;
    if (size === 0) return;
    problems.push({
      code: ValidationCode.CYCLE,
      message:
        size === 1
          ? `${describe(step)} is connected to itself`
          : `${describe(step)} is on a cycle through ${size} steps`,
      stepId: step.id,
    });
  });

  if (triggers.length > 0) {
    const reached = reachableFrom(triggers, successors);
    steps.forEach((step, i) => {
      if (!reached[i]) {
        problems.push({
          code: ValidationCode.UNREACHABLE_STEP,
          message: `${describe(step)} cannot be reached from the trigger`,
          stepId: step.id,
        });
      }
    });
  }
  return problems;
};

const describe = (step: Step): string => `Step '${step.name}' (${step.id})`;

/**
 * For each node, the size of its strongly connected component when it lies on a cycle (a
 * component of several nodes, or one node with a self-loop), else 0. Tarjan's algorithm with an
 * explicit stack.
 */
const stepsOnCycles = (successors: readonly (readonly number[])[], selfLoop: Uint8Array): Int32Array => {
  const n = successors.length;
  const order = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const next = new Int32Array(n); // position in the node's successor list
  const onStack = new Uint8Array(n);
  const componentStack: number[] = [];
  const walk: number[] = [];
  const result = new Int32Array(n);
  let counter = 0;

  const visit = (v: number): void => {
    order[v] = low[v] = counter++;
    componentStack.push(v);
    onStack[v] = 1;
    walk.push(v);
  };

  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue;
    visit(root);
    while (walk.length > 0) {
      const v = walk[walk.length - 1] as number;
      const list = successors[v] as readonly number[];
      const position = next[v] as number;
      if (position < list.length) {
        next[v] = position + 1;
        const w = list[position] as number;
        if (order[w] === -1) visit(w);
        else if (onStack[w]) low[v] = Math.min(low[v] as number, order[w] as number);
        continue;
      }
      walk.pop();
      const parent = walk[walk.length - 1];
      if (parent !== undefined) low[parent] = Math.min(low[parent] as number, low[v] as number);
      if (low[v] !== order[v]) continue;
      const start = componentStack.lastIndexOf(v);
      const component = componentStack.splice(start);
      for (const w of component) onStack[w] = 0;
      if (component.length > 1 || selfLoop[v]) {
        for (const w of component) result[w] = component.length;
      }
    }
  }
  return result;
};

/** Marks the nodes reachable from `roots` (breadth first). */
const reachableFrom = (roots: readonly number[], successors: readonly (readonly number[])[]): Uint8Array => {
  const reached = new Uint8Array(successors.length);
  const queue: number[] = [];
  for (const r of roots) {
    if (!reached[r]) {
      reached[r] = 1;
      queue.push(r);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    for (const w of successors[queue[head] as number] as readonly number[]) {
      if (!reached[w]) {
        reached[w] = 1;
        queue.push(w);
      }
    }
  }
  return reached;
};
