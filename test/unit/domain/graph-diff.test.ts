import { describe, expect, it } from 'vitest';
import { diffGraphs } from '../../../src/domain/edit-compiler.js';
import type { EditOp } from '../../../src/domain/edit-op.js';
import { applyOps, canonical, type Draft } from './draft-fixture.js';
import { edges, step } from './fake-catalog.js';

const meta = { name: 'Flow', description: '' };
const published: Draft = {
  meta,
  steps: [
    step('t', 'trigger.manual'),
    step('s1', 'sms.send', { config: { to: '1', text: 'a', extra: { a: 1, b: [1, 2] } } }),
    step('c', 'condition'),
    step('s2', 'sms.send'),
    step('e', 'end'),
  ],
  edges: edges(['t', 'next', 's1'], ['s1', 'next', 'c'], ['c', 'true', 's2'], ['c', 'false', 'e']),
};

const phases: Record<EditOp['op'], number> = {
  patchWorkflow: 0,
  deleteEdge: 1,
  deleteStep: 2,
  insertStep: 3,
  patchStep: 4,
  insertEdge: 5,
};

describe('diffGraphs', () => {
  it('finds nothing between equal graphs, whatever the config key order', () => {
    const reordered: Draft = {
      ...published,
      steps: published.steps.map((s) =>
        s.id === 's1' ? { ...s, config: { extra: { b: [1, 2], a: 1 }, text: 'a', to: '1' } } : s,
      ),
      edges: [...published.edges].reverse(),
    };
    expect(diffGraphs(reordered, published)).toEqual([]);
  });

  const drafts: [string, Draft][] = [
    ['an empty draft', { meta, steps: [], edges: [] }],
    [
      'a draft with extra steps and edges',
      {
        meta,
        steps: [...published.steps, step('x', 'delay'), step('y', 'end')],
        edges: [...published.edges, ...edges(['s2', 'next', 'x'], ['x', 'next', 'y'])],
      },
    ],
    [
      'a draft missing steps',
      { meta, steps: published.steps.filter((s) => s.id !== 's2'), edges: published.edges.filter((x) => x.to !== 's2') },
    ],
    [
      'a draft with re-pointed edges and edited steps',
      {
        meta: { name: 'Draft name', description: 'edited' },
        steps: published.steps.map((s) =>
          s.id === 's1' ? { ...s, name: 'Renamed', config: { to: '2', text: 'b' }, position: { x: 9, y: 9 } } : s,
        ),
        edges: edges(['t', 'next', 's1'], ['s1', 'next', 's2'], ['c', 'true', 'e'], ['c', 'false', 's2']),
      },
    ],
    [
      'a draft where a step id now has another type',
      {
        meta,
        steps: published.steps.map((s) => (s.id === 'c' ? step('c', 'switch', { config: { cases: [{ port: 'a' }] } }) : s)),
        edges: edges(['t', 'next', 's1'], ['s1', 'next', 'c'], ['c', 'a', 's2']),
      },
    ],
  ];

  it.each(drafts)('reverts %s to the published graph, in foreign-key order', (_, draft) => {
    const ops = diffGraphs(draft, published);
    // A store enforcing edge→step foreign keys accepts them, and the result is the published graph.
    expect(canonical(applyOps(draft, ops))).toEqual(canonical(published));
    const order = ops.map((op) => phases[op.op]);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('patches only the fields that changed', () => {
    const draft: Draft = {
      ...published,
      steps: published.steps.map((s) => (s.id === 's2' ? { ...s, position: { x: 4, y: 2 } } : s)),
    };
    expect(diffGraphs(draft, published)).toEqual([
      { op: 'patchStep', id: 's2', before: { position: { x: 4, y: 2 } }, after: { position: { x: 0, y: 0 } } },
    ]);
  });

  it('patches the workflow when both sides carry meta', () => {
    const draft: Draft = { ...published, meta: { name: 'Draft', description: '' } };
    expect(diffGraphs(draft, published)).toEqual([
      { op: 'patchWorkflow', before: { name: 'Draft' }, after: { name: 'Flow' } },
    ]);
    expect(diffGraphs(draft, { steps: published.steps, edges: published.edges })).toEqual([]);
  });

  it('replaces a step whose type changed, with its edges', () => {
    const draft: Draft = {
      ...published,
      steps: published.steps.map((s) => (s.id === 'e' ? step('e', 'delay') : s)),
    };
    const ops = diffGraphs(draft, published);
    expect(ops).toEqual([
      { op: 'deleteEdge', edge: { from: 'c', port: 'false', to: 'e' } },
      { op: 'deleteStep', step: step('e', 'delay') },
      { op: 'insertStep', step: step('e', 'end') },
      { op: 'insertEdge', edge: { from: 'c', port: 'false', to: 'e' } },
    ]);
  });
});
