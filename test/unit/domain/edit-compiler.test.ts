import { describe, expect, it } from 'vitest';
import type { EditCommand } from '../../../src/domain/edit-command.js';
import {
  compileBatch,
  compileCommand,
  INSERTED_STEP_OFFSET,
  MAX_DESCRIPTION_LENGTH,
  MAX_NAME_LENGTH,
  stepsNeeded,
  stepsNeededForBatch,
  type CompiledEdit,
  type EditLimits,
} from '../../../src/domain/edit-compiler.js';
import { invertOps, type EditOp } from '../../../src/domain/edit-op.js';
import { AppError, ErrorCode } from '../../../src/domain/errors.js';
import type { GraphSlice } from '../../../src/domain/graph-slice.js';
import { applyOps, canonical, loadSlice, type Draft } from './draft-fixture.js';
import { edges, fakeCatalog, step } from './fake-catalog.js';

const t = step('t', 'trigger.manual', { name: 'Start' });
const s1 = step('s1', 'sms.send', { name: 'Send SMS', position: { x: 10, y: 20 } });
const c = step('c', 'condition', { name: 'Check' });
const s2 = step('s2', 'sms.send', { name: 'Follow up' });
const e = step('e', 'end', { name: 'Done' });
const sw = step('sw', 'switch', { name: 'Route' });
const d = step('d', 'delay', { name: 'Wait' });

/** t → s1 → c ─true→ s2, c ─false→ e; sw ─a→ s2; d alone. */
const base: Draft = {
  meta: { name: 'Flow', description: '' },
  steps: [t, s1, c, s2, e, sw, d],
  edges: edges(['t', 'next', 's1'], ['s1', 'next', 'c'], ['c', 'true', 's2'], ['c', 'false', 'e'], ['sw', 'a', 's2']),
};
const limits: EditLimits = { maxConfigBytes: 1000, maxSteps: 100 };

interface Run {
  readonly draft?: Draft;
  readonly limits?: EditLimits;
}

/**
 * Compiles like the service will: loads what `stepsNeeded` asks for, compiles, then checks that a
 * store with foreign keys accepts the ops, that the slice agrees with the store, and that the
 * inverse ops restore the draft.
 */
const compile = (commands: EditCommand | EditCommand[], run: Run = {}): CompiledEdit & { after: Draft; slice: GraphSlice } => {
  const draft = run.draft ?? base;
  const list = Array.isArray(commands) ? commands : [commands];
  const slice = loadSlice(draft, stepsNeededForBatch(list));
  let generated = 0;
  const options = { slice, catalog: fakeCatalog, limits: run.limits ?? limits, newId: () => `gen${++generated}` };
  const result = Array.isArray(commands) ? compileBatch(commands, options) : compileCommand(commands, options);
  const after = applyOps(draft, result.ops);
  expect(slice.stepCount).toBe(after.steps.length);
  expect(slice.meta).toEqual(after.meta);
  for (const id of stepsNeededForBatch(list)) {
    const stored = after.steps.find((s) => s.id === id);
    expect(slice.getStep(id)).toEqual(stored);
    if (stored) {
      expect(sortEdges(slice.outgoing(id))).toEqual(sortEdges(after.edges.filter((x) => x.from === id)));
      expect(sortEdges(slice.incoming(id))).toEqual(sortEdges(after.edges.filter((x) => x.to === id)));
    }
  }
  expect(canonical(applyOps(after, invertOps(result.ops)))).toEqual(canonical(draft));
  return { ...result, after, slice };
};

const sortEdges = (list: readonly { from: string; port: string; to: string }[]) =>
  [...list].sort((a, b) => `${a.from}/${a.port}`.localeCompare(`${b.from}/${b.port}`));

const failure = (commands: EditCommand | EditCommand[], run: Run = {}): AppError => {
  try {
    compile(commands, run);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the edit to fail');
};

describe('stepsNeeded', () => {
  const cases: [string, EditCommand, string[]][] = [
    ['addStep, generated id', { kind: 'addStep', type: 'end', name: 'E', config: {} }, []],
    ['addStep, client id', { kind: 'addStep', id: 'n1', type: 'end', name: 'E', config: {} }, ['n1']],
    ['addStep, invalid client id', { kind: 'addStep', id: '1 bad', type: 'end', name: 'E', config: {} }, []],
    [
      'addStep after a step',
      { kind: 'addStep', id: 'n1', type: 'end', name: 'E', config: {}, after: { stepId: 's1', port: 'next' } },
      ['s1', 'n1'],
    ],
    ['updateStep', { kind: 'updateStep', stepId: 's1', name: 'x' }, ['s1']],
    ['moveStep', { kind: 'moveStep', stepId: 's1', position: { x: 1, y: 1 } }, ['s1']],
    ['removeStep', { kind: 'removeStep', stepId: 's1', reconnect: true }, ['s1']],
    ['connectSteps', { kind: 'connectSteps', from: 's2', port: 'next', to: 'e' }, ['s2', 'e']],
    ['disconnectSteps', { kind: 'disconnectSteps', from: 'c', port: 'true' }, ['c']],
    ['updateWorkflow', { kind: 'updateWorkflow', name: 'x' }, []],
  ];
  it.each(cases)('%s', (_, command, ids) => {
    expect(stepsNeeded(command)).toEqual(ids);
  });

  it('lists each id of a batch once', () => {
    expect(
      stepsNeededForBatch([
        { kind: 'connectSteps', from: 's2', port: 'next', to: 'e' },
        { kind: 'removeStep', stepId: 'e' },
      ]),
    ).toEqual(['s2', 'e']);
  });
});

describe('compileCommand: successful edits', () => {
  const cases: [string, EditCommand, EditOp[], string, Draft?][] = [
    [
      'addStep with a generated id, trimmed name and default position',
      { kind: 'addStep', type: 'sms.send', name: '  Text  ', config: { to: '1', text: 'x' } },
      [{ op: 'insertStep', step: { id: 'gen1', type: 'sms.send', name: 'Text', config: { to: '1', text: 'x' }, position: { x: 0, y: 0 } } }],
      "Added step 'Text'",
    ],
    [
      'addStep stores the parsed config, defaults applied',
      { kind: 'addStep', id: 'wait2', type: 'delay', name: 'Wait', config: {}, position: { x: 3, y: 4 } },
      [{ op: 'insertStep', step: { id: 'wait2', type: 'delay', name: 'Wait', config: { seconds: 60 }, position: { x: 3, y: 4 } } }],
      "Added step 'Wait'",
    ],
    [
      'addStep after a connected port rewires through the new step',
      { kind: 'addStep', id: 'n1', type: 'sms.send', name: 'New', config: { to: '1', text: 'x' }, after: { stepId: 's1', port: 'next' } },
      [
        { op: 'deleteEdge', edge: { from: 's1', port: 'next', to: 'c' } },
        {
          op: 'insertStep',
          step: {
            id: 'n1',
            type: 'sms.send',
            name: 'New',
            config: { to: '1', text: 'x' },
            position: { x: s1.position.x + INSERTED_STEP_OFFSET.x, y: s1.position.y + INSERTED_STEP_OFFSET.y },
          },
        },
        { op: 'insertEdge', edge: { from: 's1', port: 'next', to: 'n1' } },
        { op: 'insertEdge', edge: { from: 'n1', port: 'next', to: 'c' } },
      ],
      "Added step 'New'",
    ],
    [
      'addStep after a port keeps the old target on the first port when there is no next port',
      { kind: 'addStep', id: 'n1', type: 'condition', name: 'If', config: {}, position: { x: 0, y: 0 }, after: { stepId: 'c', port: 'false' } },
      [
        { op: 'deleteEdge', edge: { from: 'c', port: 'false', to: 'e' } },
        { op: 'insertStep', step: step('n1', 'condition', { name: 'If' }) },
        { op: 'insertEdge', edge: { from: 'c', port: 'false', to: 'n1' } },
        { op: 'insertEdge', edge: { from: 'n1', port: 'true', to: 'e' } },
      ],
      "Added step 'If'",
    ],
    [
      'addStep after a free port',
      { kind: 'addStep', id: 'n1', type: 'end', name: 'Stop', config: {}, position: { x: 0, y: 0 }, after: { stepId: 's2', port: 'next' } },
      [
        { op: 'insertStep', step: step('n1', 'end', { name: 'Stop' }) },
        { op: 'insertEdge', edge: { from: 's2', port: 'next', to: 'n1' } },
      ],
      "Added step 'Stop'",
    ],
    [
      'updateStep renaming',
      { kind: 'updateStep', stepId: 's1', name: ' Text ' },
      [{ op: 'patchStep', id: 's1', before: { name: 'Send SMS' }, after: { name: 'Text' } }],
      "Renamed step 'Send SMS' to 'Text'",
    ],
    [
      'updateStep config',
      { kind: 'updateStep', stepId: 's1', config: { to: '2', text: 'bye' } },
      [{ op: 'patchStep', id: 's1', before: { config: s1.config }, after: { config: { to: '2', text: 'bye' } } }],
      "Updated step 'Send SMS'",
    ],
    [
      'updateStep dropping a port deletes its edge in the same edit',
      { kind: 'updateStep', stepId: 'sw', name: 'Router', config: { cases: [{ port: 'b' }] } },
      [
        { op: 'deleteEdge', edge: { from: 'sw', port: 'a', to: 's2' } },
        { op: 'patchStep', id: 'sw', before: { name: 'Route', config: sw.config }, after: { name: 'Router', config: { cases: [{ port: 'b' }] } } },
      ],
      "Updated step 'Router'",
    ],
    ['updateStep to the current values changes nothing', { kind: 'updateStep', stepId: 's1', name: 'Send SMS', config: { text: 'hi', to: '+15550100' } }, [], "Updated step 'Send SMS'"],
    ['updateStep with no fields changes nothing', { kind: 'updateStep', stepId: 's1' }, [], "Updated step 'Send SMS'"],
    [
      'moveStep',
      { kind: 'moveStep', stepId: 's1', position: { x: -5, y: 7.5 } },
      [{ op: 'patchStep', id: 's1', before: { position: { x: 10, y: 20 } }, after: { position: { x: -5, y: 7.5 } } }],
      "Moved step 'Send SMS'",
    ],
    ['moveStep to where it is changes nothing', { kind: 'moveStep', stepId: 's1', position: { x: 10, y: 20 } }, [], "Moved step 'Send SMS'"],
    [
      'removeStep deletes its edges first',
      { kind: 'removeStep', stepId: 's2' },
      [
        { op: 'deleteEdge', edge: { from: 'c', port: 'true', to: 's2' } },
        { op: 'deleteEdge', edge: { from: 'sw', port: 'a', to: 's2' } },
        { op: 'deleteStep', step: s2 },
      ],
      "Removed step 'Follow up'",
    ],
    [
      'removeStep with reconnect re-points predecessors to the one successor',
      { kind: 'removeStep', stepId: 's1', reconnect: true },
      [
        { op: 'deleteEdge', edge: { from: 's1', port: 'next', to: 'c' } },
        { op: 'deleteEdge', edge: { from: 't', port: 'next', to: 's1' } },
        { op: 'deleteStep', step: s1 },
        { op: 'insertEdge', edge: { from: 't', port: 'next', to: 'c' } },
      ],
      "Removed step 'Send SMS'",
    ],
    [
      'removeStep with reconnect and no successor just removes',
      { kind: 'removeStep', stepId: 'e', reconnect: true },
      [{ op: 'deleteEdge', edge: { from: 'c', port: 'false', to: 'e' } }, { op: 'deleteStep', step: e }],
      "Removed step 'Done'",
    ],
    [
      'removeStep of an unconnected trigger',
      { kind: 'removeStep', stepId: 't' },
      [{ op: 'deleteStep', step: t }],
      "Removed step 'Start'",
      { ...base, edges: base.edges.filter((x) => x.from !== 't') },
    ],
    [
      'removeStep of a step with a self-loop',
      { kind: 'removeStep', stepId: 's2', reconnect: true },
      [
        { op: 'deleteEdge', edge: { from: 's2', port: 'next', to: 's2' } },
        { op: 'deleteEdge', edge: { from: 'c', port: 'true', to: 's2' } },
        { op: 'deleteStep', step: s2 },
      ],
      "Removed step 'Follow up'",
      { ...base, edges: [...base.edges.filter((x) => x.from !== 'sw'), { from: 's2', port: 'next', to: 's2' }] },
    ],
    [
      'connectSteps into a step that already has incoming edges',
      { kind: 'connectSteps', from: 's2', port: 'next', to: 'e' },
      [{ op: 'insertEdge', edge: { from: 's2', port: 'next', to: 'e' } }],
      "Connected 'Follow up' (next) to 'Done'",
    ],
    [
      'connectSteps on a switch case',
      { kind: 'connectSteps', from: 'sw', port: 'b', to: 'e' },
      [{ op: 'insertEdge', edge: { from: 'sw', port: 'b', to: 'e' } }],
      "Connected 'Route' (b) to 'Done'",
    ],
    [
      'disconnectSteps',
      { kind: 'disconnectSteps', from: 'c', port: 'true' },
      [{ op: 'deleteEdge', edge: { from: 'c', port: 'true', to: 's2' } }],
      "Disconnected 'Check' (true)",
    ],
    [
      'disconnectSteps on a port the step no longer has',
      { kind: 'disconnectSteps', from: 'sw', port: 'gone' },
      [{ op: 'deleteEdge', edge: { from: 'sw', port: 'gone', to: 'e' } }],
      "Disconnected 'Route' (gone)",
      { ...base, edges: [...base.edges, { from: 'sw', port: 'gone', to: 'e' }] },
    ],
    [
      'updateWorkflow renaming',
      { kind: 'updateWorkflow', name: ' Onboarding ', description: '' },
      [{ op: 'patchWorkflow', before: { name: 'Flow' }, after: { name: 'Onboarding' } }],
      "Renamed workflow to 'Onboarding'",
    ],
    [
      'updateWorkflow description',
      { kind: 'updateWorkflow', description: 'Greets people' },
      [{ op: 'patchWorkflow', before: { description: '' }, after: { description: 'Greets people' } }],
      'Updated workflow details',
    ],
    ['updateWorkflow to the current values changes nothing', { kind: 'updateWorkflow', name: 'Flow' }, [], 'Updated workflow details'],
    [
      'updateWorkflow setting a failure handler',
      { kind: 'updateWorkflow', failureHandlerWorkflowId: 'A0000000-0000-4000-8000-000000000001' },
      [{ op: 'patchWorkflow', before: { failureHandlerWorkflowId: null }, after: { failureHandlerWorkflowId: 'a0000000-0000-4000-8000-000000000001' } }],
      'Set the failure handler',
      { ...base, meta: { ...base.meta, failureHandlerWorkflowId: null } },
    ],
    [
      'updateWorkflow removing the failure handler',
      { kind: 'updateWorkflow', failureHandlerWorkflowId: null },
      [{ op: 'patchWorkflow', before: { failureHandlerWorkflowId: 'a0000000-0000-4000-8000-000000000001' }, after: { failureHandlerWorkflowId: null } }],
      'Removed the failure handler',
      { ...base, meta: { ...base.meta, failureHandlerWorkflowId: 'a0000000-0000-4000-8000-000000000001' } },
    ],
    ['updateWorkflow removing a failure handler there is not changes nothing', { kind: 'updateWorkflow', failureHandlerWorkflowId: null }, [], 'Updated workflow details'],
    [
      'updateWorkflow letting replies also start workflows',
      { kind: 'updateWorkflow', repliesAlsoStartWorkflows: true },
      [{ op: 'patchWorkflow', before: { repliesAlsoStartWorkflows: false }, after: { repliesAlsoStartWorkflows: true } }],
      'Let replies to waits also start workflows',
      { ...base, meta: { ...base.meta, repliesAlsoStartWorkflows: false } },
    ],
    [
      'updateWorkflow keeping replies from starting workflows again',
      { kind: 'updateWorkflow', repliesAlsoStartWorkflows: false },
      [{ op: 'patchWorkflow', before: { repliesAlsoStartWorkflows: true }, after: { repliesAlsoStartWorkflows: false } }],
      'Kept replies to waits from starting workflows',
      { ...base, meta: { ...base.meta, repliesAlsoStartWorkflows: true } },
    ],
    ['updateWorkflow keeping replies from starting workflows where the setting is absent (false) changes nothing', { kind: 'updateWorkflow', repliesAlsoStartWorkflows: false }, [], 'Updated workflow details'],
  ];

  it.each(cases)('%s', (_, command, ops, label, draft) => {
    const result = compile(command, draft ? { draft } : {});
    expect(result.ops).toEqual(ops);
    expect(result.label).toBe(label);
  });
});

describe('compileCommand: refused edits', () => {
  const addSms = (extra: Partial<Extract<EditCommand, { kind: 'addStep' }>> = {}): EditCommand => ({
    kind: 'addStep',
    type: 'sms.send',
    name: 'Text',
    config: { to: '1', text: 'x' },
    ...extra,
  });
  const cases: [string, EditCommand, ErrorCode, string | undefined, Run?][] = [
    ['unknown step type', addSms({ type: 'fax.send' }), ErrorCode.BAD_USER_INPUT, 'type'],
    ['invalid config', addSms({ config: { to: 1 } }), ErrorCode.BAD_USER_INPUT, 'config.to'],
    ['invalid nested config', { kind: 'addStep', type: 'switch', name: 'S', config: { cases: [{ port: '' }] } }, ErrorCode.BAD_USER_INPUT, 'config.cases.0.port'],
    ['config too large', addSms({ config: { to: '1', text: 'é'.repeat(600) } }), ErrorCode.LIMIT_EXCEEDED, 'config'],
    [
      'config too large once defaults are applied',
      { kind: 'addStep', type: 'delay', name: 'Wait', config: {} },
      ErrorCode.LIMIT_EXCEEDED,
      'config',
      { limits: { ...limits, maxConfigBytes: 5 } },
    ],
    ['blank name', addSms({ name: '   ' }), ErrorCode.BAD_USER_INPUT, 'name'],
    ['name too long', addSms({ name: 'x'.repeat(MAX_NAME_LENGTH + 1) }), ErrorCode.BAD_USER_INPUT, 'name'],
    ['invalid client id', addSms({ id: '9lives' }), ErrorCode.BAD_USER_INPUT, 'id'],
    ['client id already used', addSms({ id: 's1' }), ErrorCode.BAD_USER_INPUT, 'id'],
    ['too many steps', addSms(), ErrorCode.LIMIT_EXCEEDED, undefined, { limits: { ...limits, maxSteps: base.steps.length } }],
    ['non-finite position', addSms({ position: { x: Number.NaN, y: 0 } }), ErrorCode.BAD_USER_INPUT, 'position'],
    ['insert after a missing step', addSms({ after: { stepId: 'nope', port: 'next' } }), ErrorCode.NOT_FOUND, undefined],
    ['insert after a port the step lacks', addSms({ after: { stepId: 'c', port: 'next' } }), ErrorCode.BAD_USER_INPUT, 'after.port'],
    [
      'insert a trigger after a step',
      { kind: 'addStep', type: 'trigger.manual', name: 'T2', config: {}, after: { stepId: 's2', port: 'next' } },
      ErrorCode.BAD_USER_INPUT,
      'type',
    ],
    [
      'insert a step without ports into a connected port',
      { kind: 'addStep', type: 'end', name: 'Stop', config: {}, after: { stepId: 's1', port: 'next' } },
      ErrorCode.BAD_USER_INPUT,
      'after.port',
    ],
    ['update a missing step', { kind: 'updateStep', stepId: 'nope', name: 'x' }, ErrorCode.NOT_FOUND, undefined],
    ['update with an invalid config', { kind: 'updateStep', stepId: 's1', config: { to: '1' } }, ErrorCode.BAD_USER_INPUT, 'config.text'],
    ['update with a blank name', { kind: 'updateStep', stepId: 's1', name: '' }, ErrorCode.BAD_USER_INPUT, 'name'],
    ['move to infinity', { kind: 'moveStep', stepId: 's1', position: { x: 0, y: Infinity } }, ErrorCode.BAD_USER_INPUT, 'position'],
    ['move a missing step', { kind: 'moveStep', stepId: 'nope', position: { x: 0, y: 0 } }, ErrorCode.NOT_FOUND, undefined],
    ['remove a missing step', { kind: 'removeStep', stepId: 'nope' }, ErrorCode.NOT_FOUND, undefined],
    ['remove a connected trigger', { kind: 'removeStep', stepId: 't' }, ErrorCode.BAD_USER_INPUT, 'stepId'],
    ['remove and reconnect with two successors', { kind: 'removeStep', stepId: 'c', reconnect: true }, ErrorCode.BAD_USER_INPUT, 'reconnect'],
    [
      'remove and reconnect into a self-loop',
      { kind: 'removeStep', stepId: 's2', reconnect: true },
      ErrorCode.BAD_USER_INPUT,
      'reconnect',
      { draft: { ...base, edges: [...base.edges, { from: 's2', port: 'next', to: 'c' }] } },
    ],
    ['connect from an unknown port', { kind: 'connectSteps', from: 's2', port: 'true', to: 'e' }, ErrorCode.BAD_USER_INPUT, 'port'],
    ['connect an occupied port', { kind: 'connectSteps', from: 'c', port: 'true', to: 'e' }, ErrorCode.BAD_USER_INPUT, 'port'],
    ['connect a step to itself', { kind: 'connectSteps', from: 's2', port: 'next', to: 's2' }, ErrorCode.BAD_USER_INPUT, 'to'],
    ['connect into a trigger', { kind: 'connectSteps', from: 's2', port: 'next', to: 't' }, ErrorCode.BAD_USER_INPUT, 'to'],
    ['connect to a missing step', { kind: 'connectSteps', from: 's2', port: 'next', to: 'nope' }, ErrorCode.NOT_FOUND, undefined],
    ['connect from a missing step', { kind: 'connectSteps', from: 'nope', port: 'next', to: 's2' }, ErrorCode.NOT_FOUND, undefined],
    ['disconnect a free port', { kind: 'disconnectSteps', from: 's2', port: 'next' }, ErrorCode.BAD_USER_INPUT, 'port'],
    ['disconnect from a missing step', { kind: 'disconnectSteps', from: 'nope', port: 'next' }, ErrorCode.NOT_FOUND, undefined],
    ['blank workflow name', { kind: 'updateWorkflow', name: ' ' }, ErrorCode.BAD_USER_INPUT, 'name'],
    ['a failure handler that is not a workflow id', { kind: 'updateWorkflow', failureHandlerWorkflowId: 'x' }, ErrorCode.BAD_USER_INPUT, 'failureHandlerWorkflowId'],
    ['an error edge from a step type without an error port', { kind: 'connectSteps', from: 'd', port: 'error', to: 'e' }, ErrorCode.BAD_USER_INPUT, 'port'],
    [
      'description too long',
      { kind: 'updateWorkflow', description: 'x'.repeat(MAX_DESCRIPTION_LENGTH + 1) },
      ErrorCode.BAD_USER_INPUT,
      'description',
    ],
  ];

  it.each(cases)('%s', (_, command, code, field, run) => {
    const error = failure(command, run);
    expect(error.code).toBe(code);
    expect(error.details['field']).toBe(field);
  });

  it('names the first failing config field and lists every issue', () => {
    const error = failure(addSms({ config: { to: 1 } }));
    expect(error.message).toContain('config.to');
    expect(error.details['issues']).toEqual([
      { path: 'config.to', message: 'must be a string' },
      { path: 'config.text', message: 'must be a string' },
    ]);
  });

  it('says where an occupied port leads', () => {
    const error = failure({ kind: 'connectSteps', from: 'c', port: 'true', to: 'e' });
    expect(error.message).toMatch(/already connected/);
    expect(error.details['currentTarget']).toBe('s2');
  });

  it('reports a missing step as notFound', () => {
    const error = failure({ kind: 'removeStep', stepId: 'nope' });
    expect(error.message).toBe("Step 'nope' was not found");
    expect(error.details).toEqual({ id: 'nope' });
  });

  it('leaves the slice as it was', () => {
    const slice = loadSlice(base, ['c']);
    const options = { slice, catalog: fakeCatalog, limits, newId: () => 'gen1' };
    expect(() => compileCommand({ kind: 'removeStep', stepId: 'c', reconnect: true }, options)).toThrow(AppError);
    expect(slice.getStep('c')).toEqual(c);
    expect(slice.outgoing('c')).toHaveLength(2);
    expect(slice.stepCount).toBe(base.steps.length);
  });

  it('throws a plain Error, not NOT_FOUND, when the caller did not load a step', () => {
    const slice = loadSlice(base, []);
    const options = { slice, catalog: fakeCatalog, limits, newId: () => 'gen1' };
    const attempt = () => compileCommand({ kind: 'removeStep', stepId: 's1' }, options);
    expect(attempt).toThrow('slice does not hold step s1');
    expect(attempt).not.toThrow(AppError);
  });

  it('refuses an edit to a step whose type left the catalog when it needs its ports', () => {
    const draft = { ...base, steps: [...base.steps, step('old', 'fax.send')] };
    expect(failure({ kind: 'connectSteps', from: 'old', port: 'next', to: 'e' }, { draft }).details['field']).toBe('from');
    // Renaming it needs no ports.
    expect(compile({ kind: 'updateStep', stepId: 'old', name: 'Legacy' }, { draft }).ops).toHaveLength(1);
  });
});

describe('compileBatch', () => {
  it('lets later commands see earlier ones', () => {
    const result = compile([
      { kind: 'addStep', id: 'n1', type: 'sms.send', name: 'Reminder', config: { to: '1', text: 'x' } },
      { kind: 'connectSteps', from: 's2', port: 'next', to: 'n1' },
      { kind: 'updateStep', stepId: 'n1', name: 'Nudge' },
    ]);
    expect(result.label).toBe("Added step 'Reminder' and 2 more edits");
    expect(result.after.steps.find((s) => s.id === 'n1')?.name).toBe('Nudge');
    expect(result.after.edges).toContainEqual({ from: 's2', port: 'next', to: 'n1' });
  });

  it('sees edges another command re-pointed', () => {
    const result = compile([
      { kind: 'removeStep', stepId: 's1', reconnect: true },
      { kind: 'disconnectSteps', from: 't', port: 'next' },
      { kind: 'connectSteps', from: 't', port: 'next', to: 'e' },
    ]);
    expect(result.after.edges.filter((x) => x.from === 't')).toEqual([{ from: 't', port: 'next', to: 'e' }]);
  });

  it('labels a one-command batch with that command', () => {
    expect(compile([{ kind: 'moveStep', stepId: 's1', position: { x: 1, y: 1 } }]).label).toBe("Moved step 'Send SMS'");
  });

  it('counts only commands that changed something', () => {
    const result = compile([
      { kind: 'moveStep', stepId: 's1', position: { x: 10, y: 20 } },
      { kind: 'disconnectSteps', from: 'c', port: 'true' },
      { kind: 'updateWorkflow', name: 'Flow' },
    ]);
    expect(result.label).toBe("Disconnected 'Check' (true)");
    expect(compile([]).label).toBe('No changes');
  });

  it('restores the slice and says which command failed', () => {
    const commands: EditCommand[] = [
      { kind: 'addStep', id: 'n1', type: 'end', name: 'Stop', config: {} },
      { kind: 'removeStep', stepId: 's2' },
      { kind: 'connectSteps', from: 'n1', port: 'next', to: 'e' },
    ];
    const slice = loadSlice(base, stepsNeededForBatch(commands));
    const options = { slice, catalog: fakeCatalog, limits, newId: () => 'gen1' };
    let caught: unknown;
    try {
      compileBatch(commands, options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).details).toMatchObject({ field: 'port', commandIndex: 2 });
    expect(slice.getStep('n1')).toBeUndefined();
    expect(slice.getStep('s2')).toEqual(s2);
    expect(slice.incoming('s2')).toHaveLength(2);
    expect(slice.stepCount).toBe(base.steps.length);
  });

  it('refuses a second step with the id an earlier command chose', () => {
    const error = failure([
      { kind: 'addStep', id: 'n1', type: 'end', name: 'A', config: {} },
      { kind: 'addStep', id: 'n1', type: 'end', name: 'B', config: {} },
    ]);
    expect(error.details).toMatchObject({ field: 'id', commandIndex: 1 });
  });

  it('lets a removed id be used again', () => {
    const result = compile([
      { kind: 'removeStep', stepId: 'd' },
      { kind: 'addStep', id: 'd', type: 'end', name: 'Again', config: {} },
    ]);
    expect(result.after.steps.find((s) => s.id === 'd')?.type).toBe('end');
    expect(result.after.steps).toHaveLength(base.steps.length);
  });
});
