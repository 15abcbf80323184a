import { describe, expect, it } from 'vitest';
import type { Edge, Graph, Step } from '../../../src/domain/graph.js';
import { validateGraph, ValidationCode, type ValidationProblem } from '../../../src/domain/graph-validation.js';
import { edges, fakeCatalog, step } from './fake-catalog.js';

/** t → s1 → c ─true→ s2, c ─false→ e: valid. */
const steps: Step[] = [
  step('t', 'trigger.manual'),
  step('s1', 'sms.send'),
  step('c', 'condition'),
  step('s2', 'sms.send'),
  step('e', 'end'),
];
const links: readonly Edge[] = edges(['t', 'next', 's1'], ['s1', 'next', 'c'], ['c', 'true', 's2'], ['c', 'false', 'e']);
const valid: Graph = { steps, edges: links };

const summary = (problems: readonly ValidationProblem[]): string[] =>
  problems.map((p) => [p.code, p.stepId, p.port].filter((x) => x !== undefined).join(' '));

const C = ValidationCode;

describe('validateGraph', () => {
  const cases: [string, Graph, string[]][] = [
    ['a valid graph', valid, []],
    ['an empty graph', { steps: [], edges: [] }, [C.NO_TRIGGER]],
    [
      'no trigger',
      { steps: steps.slice(1), edges: links.slice(1) },
      [C.NO_TRIGGER],
    ],
    [
      'two triggers',
      { steps: [...steps, step('t2', 'trigger.manual')], edges: [...links, { from: 't2', port: 'next', to: 's1' }] },
      [`${C.MULTIPLE_TRIGGERS} t`, `${C.MULTIPLE_TRIGGERS} t2`],
    ],
    [
      'an unknown step type',
      { steps: [...steps, step('x', 'fax.send')], edges: [...links, { from: 's2', port: 'next', to: 'x' }] },
      [`${C.UNKNOWN_STEP_TYPE} x`],
    ],
    [
      'an invalid config, one problem per issue',
      { steps: steps.map((s) => (s.id === 's2' ? { ...s, config: { to: 1 } } : s)), edges: links },
      [`${C.INVALID_CONFIG} s2`, `${C.INVALID_CONFIG} s2`],
    ],
    [
      'an edge on a port the step does not have',
      { steps, edges: [...links, { from: 's1', port: 'bogus', to: 'e' }] },
      [`${C.UNKNOWN_PORT} s1 bogus`],
    ],
    [
      'an error edge from a step type without an error port',
      { steps, edges: [...links, { from: 'c', port: 'error', to: 'e' }] },
      [`${C.NO_ERROR_PORT} c error`],
    ],
    [
      'dangling edges',
      { steps, edges: [...links, { from: 's2', port: 'next', to: 'ghost' }, { from: 'ghost', port: 'next', to: 'e' }] },
      [`${C.DANGLING_EDGE} s2 next`, `${C.DANGLING_EDGE} ghost next`],
    ],
    [
      'a required port left open',
      { steps, edges: links.filter((x) => x.port !== 'false') },
      [`${C.MISSING_REQUIRED_EDGE} c false`, `${C.UNREACHABLE_STEP} e`],
    ],
    [
      'a cycle',
      { steps, edges: [...links, { from: 's2', port: 'next', to: 's1' }] },
      [`${C.CYCLE} s1`, `${C.CYCLE} c`, `${C.CYCLE} s2`],
    ],
    [
      'a self-loop',
      { steps, edges: [...links, { from: 's2', port: 'next', to: 's2' }] },
      [`${C.CYCLE} s2`],
    ],
    [
      'an unreachable step',
      { steps: [...steps, step('z', 'end')], edges: links },
      [`${C.UNREACHABLE_STEP} z`],
    ],
    [
      'an edge into the trigger',
      { steps, edges: [...links, { from: 's2', port: 'next', to: 't' }] },
      [`${C.EDGE_INTO_TRIGGER} s2 next`, `${C.CYCLE} t`, `${C.CYCLE} s1`, `${C.CYCLE} c`, `${C.CYCLE} s2`],
    ],
    [
      'two edges on one port',
      { steps, edges: [...links, { from: 's1', port: 'next', to: 'e' }] },
      [`${C.DUPLICATE_PORT_EDGE} s1 next`],
    ],
    [
      'a duplicate step id',
      { steps: [...steps, step('e', 'sms.send')], edges: links },
      [`${C.DUPLICATE_STEP_ID} e`],
    ],
    [
      'switch cases are required, default is not',
      {
        steps: [step('t', 'trigger.manual'), step('sw', 'switch'), step('e', 'end')],
        edges: edges(['t', 'next', 'sw'], ['sw', 'a', 'e']),
      },
      [`${C.MISSING_REQUIRED_EDGE} sw b`],
    ],
    [
      'every problem at once',
      {
        steps: [...steps, step('e', 'end'), step('x', 'fax.send'), step('z', 'end')],
        edges: [
          ...links.filter((l) => l.from !== 'c'),
          { from: 'c', port: 'true', to: 'c' },
          { from: 'x', port: 'next', to: 'ghost' },
          { from: 'x', port: 'next', to: 'z' },
          { from: 's2', port: 'next', to: 't' },
        ],
      },
      [
        `${C.DUPLICATE_STEP_ID} e`,
        `${C.UNKNOWN_STEP_TYPE} x`,
        `${C.DANGLING_EDGE} x next`,
        `${C.EDGE_INTO_TRIGGER} s2 next`,
        `${C.MISSING_REQUIRED_EDGE} c false`,
        `${C.CYCLE} c`,
        `${C.UNREACHABLE_STEP} s2`,
        `${C.UNREACHABLE_STEP} e`,
        `${C.UNREACHABLE_STEP} x`,
        `${C.UNREACHABLE_STEP} z`,
      ],
    ],
  ];

  it.each(cases)('%s', (_, graph, expected) => {
    expect(summary(validateGraph(graph, fakeCatalog))).toEqual(expected);
  });

  it('explains each problem with the step name and id', () => {
    const [problem] = validateGraph({ steps, edges: links.filter((x) => x.port !== 'true') }, fakeCatalog);
    expect(problem).toEqual({
      code: C.MISSING_REQUIRED_EDGE,
      message: "Port 'true' of Step 'c' (c) must be connected",
      stepId: 'c',
      port: 'true',
    });
  });

  it('names the config field of an invalid config', () => {
    const graph = { steps: steps.map((s) => (s.id === 's2' ? { ...s, config: { to: '1' } } : s)), edges: links };
    expect(validateGraph(graph, fakeCatalog)[0]?.message).toContain('config.text');
  });
});

describe('validateGraph on large graphs', () => {
  const size = 20_000;
  const chain = (closed: boolean): Graph => {
    const list: Step[] = [step('t', 'trigger.manual')];
    const links: Edge[] = [];
    for (let i = 1; i < size; i++) {
      list.push(step(`s${i}`, 'sms.send'));
      links.push({ from: i === 1 ? 't' : `s${i - 1}`, port: 'next', to: `s${i}` });
    }
    if (closed) links.push({ from: `s${size - 1}`, port: 'next', to: 's1' });
    return { steps: list, edges: links };
  };

  it(`checks a ${size}-step chain well under a second`, () => {
    const graph = chain(false);
    const started = performance.now();
    expect(validateGraph(graph, fakeCatalog)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it(`finds a cycle through ${size - 1} steps without overflowing the stack`, () => {
    const started = performance.now();
    const problems = validateGraph(chain(true), fakeCatalog);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(problems).toHaveLength(size - 1);
    expect(problems.every((p) => p.code === C.CYCLE)).toBe(true);
  });
});
