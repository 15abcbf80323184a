import { describe, expect, it } from 'vitest';
import { ActionRegistry } from '../../../src/actions/action-registry.js';
import { builtinActions } from '../../../src/actions/builtin-actions.js';
import type { Graph, Step } from '../../../src/domain/graph.js';
import { validateGraph, ValidationCode } from '../../../src/domain/graph-validation.js';

// A draft saved before a rule existed is checked again when it is published.
describe('publish validation of configs saved before their rules', () => {
  const registry = new ActionRegistry(builtinActions);
  const step = (id: string, type: string, config: Step['config'] = {}): Step => ({ id, type, name: id, config, position: { x: 0, y: 0 } });
  const graphWith = (middle: Step, port: string): Graph => ({
    steps: [step('t', 'trigger.manual'), middle, step('e', 'end')],
    edges: [
      { from: 't', port: 'next', to: middle.id },
      { from: middle.id, port, to: 'e' },
    ],
  });

  it.each([
    ['a lookahead in a condition', step('c', 'condition', { when: { path: 'trigger.x', op: 'matches', value: '(?=a)' } }), 'true', 'config.when.value'],
    ['a delay until year 9999', step('d', 'delay', { until: '9999-12-31T00:00:00Z' }), 'next', 'config.until'],
    ['a delay until 30 February', step('d', 'delay', { until: '2024-02-30' }), 'next', 'config.until'],
  ])('%s is an INVALID_CONFIG problem naming the field', (_name, middle, port, field) => {
    const problems = validateGraph(graphWith(middle, port), registry);
    expect(problems).toContainEqual(
      expect.objectContaining({ code: ValidationCode.INVALID_CONFIG, stepId: middle.id, message: expect.stringContaining(`${field}:`) }),
    );
  });
});

describe('publish validation of schedules', () => {
  const registry = new ActionRegistry(builtinActions);
  const graph = (config: Step['config']): Graph => ({
    steps: [
      { id: 'tick', type: 'trigger.schedule', name: 'tick', config, position: { x: 0, y: 0 } },
      { id: 'e', type: 'end', name: 'e', config: {}, position: { x: 0, y: 0 } },
    ],
    edges: [{ from: 'tick', port: 'next', to: 'e' }],
  });
  const schedules = { minIntervalMs: 60_000 };

  it.each([
    ['a cron that never fires', { cron: '0 0 30 2 *' }, 'config.cron: The cron expression never fires'],
    ['a cron faster than the minimum', { cron: '*/30 * * * * *' }, 'config.cron: The schedule fires every 30 s'],
    ['an interval faster than the minimum', { every: { amount: 20, unit: 'seconds' } }, 'config.every: The schedule fires every 20 s'],
    ['an unknown time zone', { cron: '0 9 * * *', timeZone: 'Nowhere/Atlantis' }, "config.timeZone: Unknown time zone 'Nowhere/Atlantis'"],
  ])('%s is an INVALID_CONFIG problem naming the field', (_name, config, message) => {
    expect(validateGraph(graph(config), registry, { schedules })).toContainEqual(
      expect.objectContaining({ code: ValidationCode.INVALID_CONFIG, stepId: 'tick', message: expect.stringContaining(message) }),
    );
  });

  it('a schedule within the minimum passes, and without deployment rules only the config itself is checked', () => {
    expect(validateGraph(graph({ cron: '* * * * *' }), registry, { schedules })).toEqual([]);
    expect(validateGraph(graph({ every: { amount: 20, unit: 'seconds' } }), registry)).toEqual([]);
  });
});
