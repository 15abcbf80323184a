import type { EditCommand } from './edit-command.js';
import { invertOps, type EditOp, type StepFields } from './edit-op.js';
import { AppError, badInput, limitExceeded, notFound } from './errors.js';
import { ERROR_PORT, NEXT_PORT, STEP_ID_PATTERN, type Edge, type Graph, type Position, type Step, type WorkflowMeta } from './graph.js';
import type { GraphSlice } from './graph-slice.js';
import type { JsonObject } from './json.js';
import { jsonEqual } from './json-compare.js';
import { jsonByteLength } from './json-size.js';
import { scheduleIssue, type ScheduleRules } from './schedule-rules.js';
import type { PortSpec, StepTypeCatalog, StepTypeInfo } from './step-type-catalog.js';

/** Longest step or workflow name, counted after trimming. */
export const MAX_NAME_LENGTH = 200;
/** Longest workflow description. */
export const MAX_DESCRIPTION_LENGTH = 5000;
/** Where a step inserted after another lands when the client gives no position: below it. */
export const INSERTED_STEP_OFFSET: Position = { x: 0, y: 120 };

/** Limits that vary by deployment; they come from validated configuration. */
export interface EditLimits {
  /** Largest config of one step, as compact UTF-8 JSON. */
  readonly maxConfigBytes: number;
  /** Most steps one workflow may hold. */
  readonly maxSteps: number;
  /** What schedule triggers may do; without it only schedules that never fire are refused. */
  readonly schedules?: ScheduleRules;
}

/** What compiling an edit needs besides the command. */
export interface CompileOptions {
  /**
   * The draft as far as the edit needs it: the steps listed by `stepsNeeded` (or
   * `stepsNeededForBatch`), with all their incident edges. Compiling applies the ops to it.
   */
  readonly slice: GraphSlice;
  readonly catalog: StepTypeCatalog;
  readonly limits: EditLimits;
  /** Generates the id of a step added without a client-chosen one; must not collide. */
  readonly newId: () => string;
}

/**
 * An edit compiled into primitive ops, with a label for the history ("Added step 'Send SMS'").
 * `ops` is empty when the command changes nothing (an update to the current values, a move to
 * the current position): the caller decides whether that is an error or a quiet success.
 */
export interface CompiledEdit {
  readonly ops: EditOp[];
  readonly label: string;
}

/**
 * The ids of the steps whose rows, and all of whose incident edges, the caller must load into the
 * slice before compiling `command`. Ids that turn out not to exist go to `addLoaded` as missing.
 * A client-chosen id for a new step is listed so that its absence is known; one that cannot be a
 * step id is left out, since compiling rejects it before looking.
 */
export const stepsNeeded = (command: EditCommand): string[] => {
  switch (command.kind) {
    case 'addStep': {
      const ids: string[] = [];
      if (command.after) ids.push(command.after.stepId);
      if (command.id !== undefined && STEP_ID_PATTERN.test(command.id)) ids.push(command.id);
      return unique(ids);
    }
    case 'updateStep':
    case 'moveStep':
    // The successor a reconnect points to is known to exist from the edge that leads there.
    case 'removeStep':
      return [command.stepId];
    case 'connectSteps':
      return unique([command.from, command.to]);
    case 'disconnectSteps':
      return [command.from];
    case 'updateWorkflow':
      return [];
  }
};

/** `stepsNeeded` of every command of a batch, each id once. */
export const stepsNeededForBatch = (commands: readonly EditCommand[]): string[] =>
  unique(commands.flatMap(stepsNeeded));

/**
 * Validates `command` against the slice and compiles it into primitive ops, which it also applies
 * to the slice so that the next command of a batch sees them. Throws `AppError` for input the
 * caller must fix (the slice is then unchanged), and a plain `Error` when the slice lacks a step
 * the command needs (a bug in the caller; see `stepsNeeded`).
 */
export const compileCommand = (command: EditCommand, options: CompileOptions): CompiledEdit => {
  const compiled = compileOnly(command, options);
  applyAtomically(options.slice, compiled.ops);
  return compiled;
};

/**
 * Compiles commands in order, each seeing the ones before. On any error the slice is restored to
 * what it was before the batch, and an `AppError` gets `details.commandIndex`.
 * The label is the one command's label, or the first one's followed by how many more edits
 * ("Added step 'A' and 2 more edits"); commands that change nothing are not counted.
 */
export const compileBatch = (commands: readonly EditCommand[], options: CompileOptions): CompiledEdit => {
  const ops: EditOp[] = [];
  const labels: string[] = [];
  const quietLabels: string[] = [];
  for (const [index, command] of commands.entries()) {
    let compiled: CompiledEdit;
    try {
      compiled = compileCommand(command, options);
    } catch (error) {
      options.slice.applyAll(invertOps(ops));
      if (error instanceof AppError) {
        throw new AppError(error.code, error.message, { ...error.details, commandIndex: index });
      }
      throw error;
    }
    ops.push(...compiled.ops);
    (compiled.ops.length > 0 ? labels : quietLabels).push(compiled.label);
  }
  return { ops, label: batchLabel(labels.length > 0 ? labels : quietLabels) };
};

/**
 * The ops that turn graph `from` into graph `to` (reverting a draft to a published version).
 * Steps are matched by id and edges by (`from`, `port`); a step whose type differs is deleted
 * and inserted again, with its edges. Ordered for a store with edge→step foreign keys: edges
 * deleted, steps deleted, steps inserted, steps patched, edges inserted. When both graphs carry
 * `meta` and it differs, a `patchWorkflow` comes first.
 */
export const diffGraphs = (
  from: Graph & { readonly meta?: WorkflowMeta },
  to: Graph & { readonly meta?: WorkflowMeta },
): EditOp[] => {
  const ops: EditOp[] = [];
  if (from.meta && to.meta) {
    const metaPatch = diffFields(from.meta, to.meta, ['name', 'description']);
    if (metaPatch) ops.push({ op: 'patchWorkflow', ...metaPatch });
  }

  const fromSteps = new Map(from.steps.map((s) => [s.id, s]));
  const toSteps = new Map(to.steps.map((s) => [s.id, s]));
  // Steps that leave the graph, or come back as another type, must be deleted with all their edges.
  const replaced = new Set<string>();
  for (const step of from.steps) {
    const target = toSteps.get(step.id);
    if (!target || target.type !== step.type) replaced.add(step.id);
  }
  const toEdges = new Map(to.edges.map((e) => [edgeKey(e), e]));
  const fromEdges = new Map(from.edges.map((e) => [edgeKey(e), e]));
  const sameEdge = (edge: Edge, others: Map<string, Edge>): boolean =>
    others.get(edgeKey(edge))?.to === edge.to && !replaced.has(edge.from) && !replaced.has(edge.to);

  for (const edge of from.edges) {
    if (!sameEdge(edge, toEdges)) ops.push({ op: 'deleteEdge', edge });
  }
  for (const step of from.steps) {
    if (replaced.has(step.id)) ops.push({ op: 'deleteStep', step });
  }
  for (const step of to.steps) {
    const before = fromSteps.get(step.id);
    if (!before || replaced.has(step.id)) ops.push({ op: 'insertStep', step });
  }
  for (const step of to.steps) {
    const before = fromSteps.get(step.id);
    if (!before || replaced.has(step.id)) continue;
    const patch = diffStepFields(before, step);
    if (patch) ops.push({ op: 'patchStep', id: step.id, ...patch });
  }
  for (const edge of to.edges) {
    if (!sameEdge(edge, fromEdges)) ops.push({ op: 'insertEdge', edge });
  }
  return ops;
};

// ---------------------------------------------------------------------------------------------

const compileOnly = (command: EditCommand, options: CompileOptions): CompiledEdit => {
  switch (command.kind) {
    case 'addStep':
      return compileAddStep(command, options);
    case 'updateStep':
      return compileUpdateStep(command, options);
    case 'moveStep':
      return compileMoveStep(command, options);
    case 'removeStep':
      return compileRemoveStep(command, options);
    case 'connectSteps':
      return compileConnect(command, options);
    case 'disconnectSteps':
      return compileDisconnect(command, options);
    case 'updateWorkflow':
      return compileUpdateWorkflow(command, options);
  }
};

type CommandOf<K extends EditCommand['kind']> = Extract<EditCommand, { kind: K }>;

const compileAddStep = (command: CommandOf<'addStep'>, options: CompileOptions): CompiledEdit => {
  const { slice, catalog, limits } = options;
  const info = catalog.get(command.type);
  if (!info) throw badInput(`Unknown step type '${command.type}'`, 'type');
  const name = checkName(command.name, 'name');
  const id = command.id !== undefined ? checkNewId(command.id, slice) : generatedId(options);
  const config = checkConfig(info, command.config, limits);
  if (command.position) checkPosition(command.position);
  if (slice.stepCount >= limits.maxSteps) {
    throw limitExceeded(`A workflow can hold at most ${limits.maxSteps} steps`, { limit: limits.maxSteps });
  }

  const after = command.after;
  if (!after) {
    const step: Step = { id, type: command.type, name, config, position: command.position ?? { x: 0, y: 0 } };
    return { ops: [{ op: 'insertStep', step }], label: `Added step '${name}'` };
  }

  const predecessor = requireStep(slice, after.stepId);
  const predecessorPorts = portsOf(catalog, predecessor, 'after.stepId');
  if (!hasPort(predecessorPorts, after.port)) {
    throw badInput(noPortMessage(predecessor, after.port), 'after.port', {
      ports: predecessorPorts.map((p) => p.name),
    });
  }
  if (info.category === 'trigger') {
    throw badInput(`A trigger starts the workflow and cannot be inserted after another step`, 'type');
  }
  const position = command.position ?? {
    x: predecessor.position.x + INSERTED_STEP_OFFSET.x,
    y: predecessor.position.y + INSERTED_STEP_OFFSET.y,
  };
  const step: Step = { id, type: command.type, name, config, position };
  const ops: EditOp[] = [];
  const displaced = slice.edgeAt(predecessor.id, after.port);
  if (displaced) ops.push({ op: 'deleteEdge', edge: displaced });
  ops.push({ op: 'insertStep', step });
  ops.push({ op: 'insertEdge', edge: { from: predecessor.id, port: after.port, to: id } });
  if (displaced) {
    const ports = info.outputPorts(config);
    const exit = ports.find((p) => p.name === NEXT_PORT) ?? ports[0];
    if (!exit) {
      throw badInput(
        `A '${info.displayName}' step has no output port to keep the connection from '${predecessor.name}' (${after.port}); disconnect it first`,
        'after.port',
      );
    }
    ops.push({ op: 'insertEdge', edge: { from: id, port: exit.name, to: displaced.to } });
  }
  return { ops, label: `Added step '${name}'` };
};

const compileUpdateStep = (command: CommandOf<'updateStep'>, options: CompileOptions): CompiledEdit => {
  const { slice, catalog, limits } = options;
  const step = requireStep(slice, command.stepId);
  const before: { name?: string; config?: JsonObject } = {};
  const after: { name?: string; config?: JsonObject } = {};
  if (command.name !== undefined) {
    const name = checkName(command.name, 'name');
    if (name !== step.name) {
      before.name = step.name;
      after.name = name;
    }
  }
  const ops: EditOp[] = [];
  if (command.config !== undefined) {
    const info = catalog.get(step.type);
    if (!info) throw badInput(`Step '${step.name}' has type '${step.type}', which no longer exists`, 'config');
    const config = checkConfig(info, command.config, limits);
    if (!jsonEqual(config, step.config)) {
      before.config = step.config;
      after.config = config;
      // Edges on ports the new config drops go in the same edit, so undoing it brings them back.
      const ports = new Set(info.outputPorts(config).map((p) => p.name));
      for (const edge of slice.outgoing(step.id)) {
        if (!ports.has(edge.port)) ops.push({ op: 'deleteEdge', edge });
      }
    }
  }
  const label =
    after.name !== undefined && after.config === undefined
      ? `Renamed step '${step.name}' to '${after.name}'`
      : `Updated step '${after.name ?? step.name}'`;
  if (after.name === undefined && after.config === undefined) return { ops: [], label };
  ops.push({ op: 'patchStep', id: step.id, before, after });
  return { ops, label };
};

const compileMoveStep = (command: CommandOf<'moveStep'>, options: CompileOptions): CompiledEdit => {
  const step = requireStep(options.slice, command.stepId);
  checkPosition(command.position);
  const label = `Moved step '${step.name}'`;
  const position = { x: command.position.x, y: command.position.y };
  if (position.x === step.position.x && position.y === step.position.y) return { ops: [], label };
  return { ops: [{ op: 'patchStep', id: step.id, before: { position: step.position }, after: { position } }], label };
};

const compileRemoveStep = (command: CommandOf<'removeStep'>, options: CompileOptions): CompiledEdit => {
  const { slice, catalog } = options;
  const step = requireStep(slice, command.stepId);
  const outgoing = slice.outgoing(step.id);
  // A self-loop is both outgoing and incoming; count it once, as outgoing.
  const incoming = slice.incoming(step.id).filter((e) => e.from !== step.id);
  if (catalog.get(step.type)?.category === 'trigger' && outgoing.length + incoming.length > 0) {
    throw badInput(
      `Trigger '${step.name}' is still connected to other steps; disconnect it first`,
      'stepId',
      { connections: outgoing.length + incoming.length },
    );
  }

  let successor: string | undefined;
  if (command.reconnect) {
    const exits = outgoing.filter((e) => e.to !== step.id);
    if (exits.length > 1) {
      throw badInput(
        `Step '${step.name}' has ${exits.length} outgoing connections, so it is ambiguous which one to reconnect its predecessors to`,
        'reconnect',
        { ports: exits.map((e) => e.port) },
      );
    }
    successor = exits[0]?.to;
    if (successor !== undefined && incoming.some((e) => e.from === successor)) {
      throw badInput(
        `Reconnecting around step '${step.name}' would connect step '${successor}' to itself`,
        'reconnect',
      );
    }
  }

  const ops: EditOp[] = [];
  for (const edge of [...outgoing, ...incoming]) ops.push({ op: 'deleteEdge', edge });
  ops.push({ op: 'deleteStep', step });
  if (successor !== undefined) {
    for (const edge of incoming) ops.push({ op: 'insertEdge', edge: { from: edge.from, port: edge.port, to: successor } });
  }
  return { ops, label: `Removed step '${step.name}'` };
};

const compileConnect = (command: CommandOf<'connectSteps'>, options: CompileOptions): CompiledEdit => {
  const { slice, catalog } = options;
  const from = requireStep(slice, command.from);
  const to = requireStep(slice, command.to);
  if (from.id === to.id) throw badInput(`Step '${from.name}' cannot be connected to itself`, 'to');
  const ports = portsOf(catalog, from, 'from');
  if (!hasPort(ports, command.port)) {
    throw badInput(noPortMessage(from, command.port), 'port', { ports: ports.map((p) => p.name) });
  }
  const current = slice.edgeAt(from.id, command.port);
  if (current) {
    const target = current.to === to.id ? 'that step' : `step '${stepLabel(slice, current.to)}'`;
    throw badInput(
      `Port '${command.port}' of step '${from.name}' is already connected to ${target}; disconnect it first`,
      'port',
      { currentTarget: current.to },
    );
  }
  if (catalog.get(to.type)?.category === 'trigger') {
    throw badInput(`Trigger '${to.name}' starts the workflow and cannot have incoming connections`, 'to');
  }
  return {
    ops: [{ op: 'insertEdge', edge: { from: from.id, port: command.port, to: to.id } }],
    label: `Connected '${from.name}' (${command.port}) to '${to.name}'`,
  };
};

const compileDisconnect = (command: CommandOf<'disconnectSteps'>, options: CompileOptions): CompiledEdit => {
  const from = requireStep(options.slice, command.from);
  const edge = options.slice.edgeAt(from.id, command.port);
  if (!edge) throw badInput(`Port '${command.port}' of step '${from.name}' is not connected`, 'port');
  return { ops: [{ op: 'deleteEdge', edge }], label: `Disconnected '${from.name}' (${command.port})` };
};

const compileUpdateWorkflow = (command: CommandOf<'updateWorkflow'>, options: CompileOptions): CompiledEdit => {
  const stored = options.slice.meta;
  // Absent settings read as their defaults, so that setting a default where none is stored changes nothing.
  const meta: WorkflowMeta = {
    ...stored,
    failureHandlerWorkflowId: stored.failureHandlerWorkflowId ?? null,
    repliesAlsoStartWorkflows: stored.repliesAlsoStartWorkflows ?? false,
  };
  const wanted: { -readonly [K in keyof WorkflowMeta]?: WorkflowMeta[K] } = {};
  if (command.name !== undefined) wanted.name = checkName(command.name, 'name');
  if (command.description !== undefined) {
    if (command.description.length > MAX_DESCRIPTION_LENGTH) {
      throw badInput(`Description must be at most ${MAX_DESCRIPTION_LENGTH} characters`, 'description');
    }
    wanted.description = command.description;
  }
  if (command.failureHandlerWorkflowId !== undefined) {
    const id = command.failureHandlerWorkflowId;
    if (id !== null && !WORKFLOW_ID_PATTERN.test(id)) {
      throw badInput(`'${id.slice(0, 100)}' is not a workflow id`, 'failureHandlerWorkflowId');
    }
    wanted.failureHandlerWorkflowId = id === null ? null : id.toLowerCase();
  }
  if (command.repliesAlsoStartWorkflows !== undefined) wanted.repliesAlsoStartWorkflows = command.repliesAlsoStartWorkflows;
  const patch = diffFields(meta, { ...meta, ...wanted }, ['name', 'description', 'failureHandlerWorkflowId', 'repliesAlsoStartWorkflows']);
  return { ops: patch ? [{ op: 'patchWorkflow', ...patch }] : [], label: updateWorkflowLabel(patch?.after) };
};

/** Workflow ids are UUIDs. */
const WORKFLOW_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const updateWorkflowLabel = (after: Partial<WorkflowMeta> | undefined): string => {
  const changed = after ? Object.keys(after) : [];
  if (changed.length === 1 && after?.name !== undefined) return `Renamed workflow to '${after.name}'`;
  if (changed.length === 1 && after?.failureHandlerWorkflowId !== undefined) {
    return after.failureHandlerWorkflowId === null ? 'Removed the failure handler' : 'Set the failure handler';
  }
  if (changed.length === 1 && after?.repliesAlsoStartWorkflows !== undefined) {
    return after.repliesAlsoStartWorkflows ? 'Let replies to waits also start workflows' : 'Kept replies to waits from starting workflows';
  }
  return 'Updated workflow details';
};

/** Why a port is not there; an `error` port is asked of a step type that cannot fail over to one. */
const noPortMessage = (step: Step, port: string): string =>
  port === ERROR_PORT
    ? `Step '${step.name}' (${step.type}) has no error port: only action steps (messages, HTTP) can follow an error edge`
    : `Step '${step.name}' has no port '${port}'`;

// ---------------------------------------------------------------------------------------------

const requireStep = (slice: GraphSlice, id: string): Step => {
  const step = slice.getStep(id);
  if (!step) throw notFound('Step', id);
  return step;
};

const checkName = (raw: string, field: string): string => {
  const name = raw.trim();
  if (name.length === 0) throw badInput('Name must not be empty', field);
  if (name.length > MAX_NAME_LENGTH) throw badInput(`Name must be at most ${MAX_NAME_LENGTH} characters`, field);
  return name;
};

const checkNewId = (id: string, slice: GraphSlice): string => {
  if (!STEP_ID_PATTERN.test(id)) {
    throw badInput(`Step id '${id}' is not valid: it must match ${STEP_ID_PATTERN.source}`, 'id');
  }
  if (slice.hasStep(id)) throw badInput(`A step with id '${id}' already exists`, 'id');
  return id;
};

const generatedId = (options: CompileOptions): string => {
  const id = options.newId();
  if (options.slice.isLoaded(id)) throw new Error(`newId() returned ${id}, which already exists`);
  return id;
};

const checkConfig = (info: StepTypeInfo, config: JsonObject, limits: EditLimits): JsonObject => {
  checkConfigSize(config, limits);
  const result = info.checkConfig(config);
  if (!result.ok) {
    const issues = result.issues.map((i) => ({ path: i.path ? `config.${i.path}` : 'config', message: i.message }));
    const first = issues[0] ?? { path: 'config', message: 'is not valid' };
    throw badInput(`Invalid config: ${first.path}: ${first.message}`, first.path, { issues });
  }
  const schedule = scheduleIssue(info, result.config, limits.schedules);
  if (schedule) {
    const path = `config.${schedule.path}`;
    throw badInput(`Invalid config: ${path}: ${schedule.message}`, path, { issues: [{ path, message: schedule.message }] });
  }
  // Defaults can make the stored config larger than the one sent.
  checkConfigSize(result.config, limits);
  return result.config;
};

const checkConfigSize = (config: JsonObject, limits: EditLimits): void => {
  const size = jsonByteLength(config);
  if (size > limits.maxConfigBytes) {
    throw limitExceeded(`Config is ${size} bytes; a step config can hold at most ${limits.maxConfigBytes}`, {
      field: 'config',
      size,
      limit: limits.maxConfigBytes,
    });
  }
};

const checkPosition = (position: Position): void => {
  if (!Number.isFinite(position.x) || !Number.isFinite(position.y)) {
    throw badInput('Position coordinates must be finite numbers', 'position');
  }
};

const portsOf = (catalog: StepTypeCatalog, step: Step, field: string): readonly PortSpec[] => {
  const info = catalog.get(step.type);
  if (!info) throw badInput(`Step '${step.name}' has type '${step.type}', which no longer exists`, field);
  return info.outputPorts(step.config);
};

const hasPort = (ports: readonly PortSpec[], name: string): boolean => ports.some((p) => p.name === name);

/** A step's name when its row is loaded, else its id. */
const stepLabel = (slice: GraphSlice, id: string): string => (slice.isLoaded(id) ? slice.getStep(id)?.name ?? id : id);

const applyAtomically = (slice: GraphSlice, ops: readonly EditOp[]): void => {
  const done: EditOp[] = [];
  try {
    for (const op of ops) {
      slice.apply(op);
      done.push(op);
    }
  } catch (error) {
    slice.applyAll(invertOps(done));
    throw error;
  }
};

const batchLabel = (labels: readonly string[]): string => {
  const [first] = labels;
  if (first === undefined) return 'No changes';
  const more = labels.length - 1;
  if (more === 0) return first;
  return `${first} and ${more} more ${more === 1 ? 'edit' : 'edits'}`;
};

const diffStepFields = (before: Step, after: Step): { before: StepFields; after: StepFields } | undefined => {
  const was: { name?: string; config?: JsonObject; position?: Position } = {};
  const now: { name?: string; config?: JsonObject; position?: Position } = {};
  if (before.name !== after.name) {
    was.name = before.name;
    now.name = after.name;
  }
  if (!jsonEqual(before.config, after.config)) {
    was.config = before.config;
    now.config = after.config;
  }
  if (before.position.x !== after.position.x || before.position.y !== after.position.y) {
    was.position = before.position;
    now.position = after.position;
  }
  return Object.keys(now).length > 0 ? { before: was, after: now } : undefined;
};

const diffFields = <T extends object, K extends keyof T>(
  before: T,
  after: T,
  keys: readonly K[],
): { before: Partial<T>; after: Partial<T> } | undefined => {
  const was: Partial<T> = {};
  const now: Partial<T> = {};
  for (const key of keys) {
    if (before[key] !== after[key]) {
      was[key] = before[key];
      now[key] = after[key];
    }
  }
  return Object.keys(now).length > 0 ? { before: was, after: now } : undefined;
};

const unique = (ids: readonly string[]): string[] => [...new Set(ids)];

const edgeKey = (edge: Edge): string => `${edge.from}\u0000${edge.port}`;
