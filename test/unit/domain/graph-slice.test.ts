import { describe, expect, it } from 'vitest';
import { GraphSlice } from '../../../src/domain/graph-slice.js';
import { step } from './fake-catalog.js';

const meta = { name: 'Flow', description: '' };
const t = step('t', 'trigger.manual');
const s1 = step('s1', 'sms.send');
const tToS1 = { from: 't', port: 'next', to: 's1' };
const s1ToS2 = { from: 's1', port: 'next', to: 's2' };

/** s1 loaded (with its edges t→s1 and s1→s2), `ghost` known missing; t and s2 known only by edge. */
const sampleSlice = (): GraphSlice => {
  const slice = new GraphSlice(meta, 3);
  slice.addLoaded([s1], [tToS1, s1ToS2], ['ghost']);
  return slice;
};

describe('GraphSlice lookups', () => {
  it('answers for loaded, missing and edge-known steps, and throws for the rest', () => {
    const slice = sampleSlice();
    expect(slice.isLoaded('s1')).toBe(true);
    expect(slice.getStep('s1')).toEqual(s1);
    expect(slice.getStep('ghost')).toBeUndefined();
    expect(slice.hasStep('ghost')).toBe(false);
    // Known to exist through an edge, but its row is not here: never "missing".
    expect(slice.hasStep('s2')).toBe(true);
    expect(slice.isLoaded('s2')).toBe(false);
    expect(() => slice.getStep('s2')).toThrow('slice does not hold step s2');
    expect(() => slice.getStep('other')).toThrow('slice does not hold step other');
    expect(() => slice.hasStep('other')).toThrow('slice does not hold step other');
  });

  it('indexes edges by (from, port) and by target, only for loaded steps', () => {
    const slice = sampleSlice();
    expect(slice.outgoing('s1')).toEqual([s1ToS2]);
    expect(slice.incoming('s1')).toEqual([tToS1]);
    expect(slice.edgeAt('s1', 'next')).toEqual(s1ToS2);
    expect(slice.edgeAt('s1', 'other')).toBeUndefined();
    expect(slice.outgoing('ghost')).toEqual([]);
    expect(() => slice.outgoing('t')).toThrow('slice does not hold step t');
    expect(() => slice.incoming('s2')).toThrow('slice does not hold step s2');
    expect(() => slice.edgeAt('t', 'next')).toThrow('slice does not hold step t');
  });

  it('keeps one copy of an edge loaded twice', () => {
    const slice = new GraphSlice(meta, 2);
    slice.addLoaded([t, s1], [tToS1, tToS1]);
    expect(slice.outgoing('t')).toEqual([tToS1]);
    expect(slice.incoming('s1')).toEqual([tToS1]);
  });

  it.each([
    ['a step that is also listed missing', () => new GraphSlice(meta, 1).addLoaded([s1], [], ['s1'])],
    ['an edge to a missing step', () => new GraphSlice(meta, 1).addLoaded([s1], [s1ToS2], ['s2'])],
    [
      'two edges on one port',
      () => new GraphSlice(meta, 1).addLoaded([s1], [s1ToS2, { from: 's1', port: 'next', to: 'x' }]),
    ],
    ['a negative step count', () => new GraphSlice(meta, -1)],
  ])('refuses inconsistent input: %s', (_, load) => {
    expect(load).toThrow(Error);
  });

  it('refuses loading after ops were applied', () => {
    const slice = sampleSlice();
    slice.apply({ op: 'patchWorkflow', before: { name: 'Flow' }, after: { name: 'New' } });
    expect(() => slice.addLoaded([t], [tToS1])).toThrow('load the slice before applying ops');
  });
});

describe('GraphSlice.apply', () => {
  it('inserts a step: loaded, no longer missing, counted', () => {
    const slice = sampleSlice();
    const ghost = step('ghost', 'end');
    slice.apply({ op: 'insertStep', step: ghost });
    expect(slice.getStep('ghost')).toEqual(ghost);
    expect(slice.outgoing('ghost')).toEqual([]);
    expect(slice.stepCount).toBe(4);
  });

  it('deletes a step only once its edges are gone', () => {
    const slice = sampleSlice();
    expect(() => slice.apply({ op: 'deleteStep', step: s1 })).toThrow('still has edges');
    slice.apply({ op: 'deleteEdge', edge: tToS1 });
    slice.apply({ op: 'deleteEdge', edge: s1ToS2 });
    slice.apply({ op: 'deleteStep', step: s1 });
    expect(slice.getStep('s1')).toBeUndefined();
    expect(slice.hasStep('s1')).toBe(false);
    expect(slice.stepCount).toBe(2);
  });

  it('moves edges between indexes', () => {
    const slice = sampleSlice();
    slice.apply({ op: 'deleteEdge', edge: s1ToS2 });
    expect(slice.edgeAt('s1', 'next')).toBeUndefined();
    const loop = { from: 's1', port: 'next', to: 's1' };
    slice.apply({ op: 'insertEdge', edge: loop });
    expect(slice.outgoing('s1')).toEqual([loop]);
    expect(slice.incoming('s1')).toEqual([tToS1, loop]);
  });

  it('patches steps and the workflow', () => {
    const slice = sampleSlice();
    slice.apply({ op: 'patchStep', id: 's1', before: { name: 's1' }, after: { name: 'Renamed', position: { x: 5, y: 6 } } });
    expect(slice.getStep('s1')).toEqual({ ...s1, name: 'Renamed', position: { x: 5, y: 6 } });
    slice.apply({ op: 'patchWorkflow', before: { description: '' }, after: { description: 'About' } });
    expect(slice.meta).toEqual({ name: 'Flow', description: 'About' });
  });

  it.each([
    ['inserting an existing step', { op: 'insertStep', step: s1 }],
    ['inserting a step known by edge', { op: 'insertStep', step: step('s2', 'end') }],
    ['deleting a step that is not loaded', { op: 'deleteStep', step: step('s2', 'end') }],
    ['patching a step that is not loaded', { op: 'patchStep', id: 's2', before: {}, after: { name: 'x' } }],
    ['taking an occupied port', { op: 'insertEdge', edge: { from: 's1', port: 'next', to: 't' } }],
    ['an edge to a missing step', { op: 'insertEdge', edge: { from: 's1', port: 'other', to: 'ghost' } }],
    ['deleting an edge that is not there', { op: 'deleteEdge', edge: { from: 's1', port: 'next', to: 't' } }],
  ] as const)('throws, changing nothing, on %s', (_, op) => {
    const slice = sampleSlice();
    expect(() => slice.apply(op)).toThrow(Error);
    expect(slice.stepCount).toBe(3);
    expect(slice.outgoing('s1')).toEqual([s1ToS2]);
    expect(slice.incoming('s1')).toEqual([tToS1]);
    expect(slice.getStep('s1')).toEqual(s1);
  });
});
