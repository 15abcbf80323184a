import { describe, expect, it } from 'vitest';
import { invertOp, invertOps, type EditOp } from '../../../src/domain/edit-op.js';
import { step } from './fake-catalog.js';

const s = step('s1', 'sms.send');
const edge = { from: 't', port: 'next', to: 's1' };

describe('invertOp', () => {
  const cases: [string, EditOp, EditOp][] = [
    ['insertStep → deleteStep', { op: 'insertStep', step: s }, { op: 'deleteStep', step: s }],
    ['deleteStep → insertStep', { op: 'deleteStep', step: s }, { op: 'insertStep', step: s }],
    ['insertEdge → deleteEdge', { op: 'insertEdge', edge }, { op: 'deleteEdge', edge }],
    ['deleteEdge → insertEdge', { op: 'deleteEdge', edge }, { op: 'insertEdge', edge }],
    [
      'patchStep swaps before and after',
      { op: 'patchStep', id: 's1', before: { name: 'A' }, after: { name: 'B', position: { x: 1, y: 2 } } },
      { op: 'patchStep', id: 's1', before: { name: 'B', position: { x: 1, y: 2 } }, after: { name: 'A' } },
    ],
    [
      'patchWorkflow swaps before and after',
      { op: 'patchWorkflow', before: { name: 'Old' }, after: { name: 'New' } },
      { op: 'patchWorkflow', before: { name: 'New' }, after: { name: 'Old' } },
    ],
  ];
  it.each(cases)('%s', (_, op, inverse) => {
    expect(invertOp(op)).toEqual(inverse);
    expect(invertOp(invertOp(op))).toEqual(op);
  });
});

describe('invertOps', () => {
  it('inverts each op, last first', () => {
    const ops: EditOp[] = [
      { op: 'insertStep', step: s },
      { op: 'insertEdge', edge },
      { op: 'patchStep', id: 's1', before: { name: 'A' }, after: { name: 'B' } },
    ];
    expect(invertOps(ops)).toEqual([
      { op: 'patchStep', id: 's1', before: { name: 'B' }, after: { name: 'A' } },
      { op: 'deleteEdge', edge },
      { op: 'deleteStep', step: s },
    ]);
  });

  it('returns an empty list for no ops', () => {
    expect(invertOps([])).toEqual([]);
  });
});
