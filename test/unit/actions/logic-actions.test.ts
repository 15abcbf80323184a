import { describe, expect, it } from 'vitest';
import { conditionAction } from '../../../src/actions/condition.action.js';
import { delayAction } from '../../../src/actions/delay.action.js';
import { endAction } from '../../../src/actions/end.action.js';
import { switchAction } from '../../../src/actions/switch.action.js';
import { NOW, configOf, makeContext, makeKit, runStep } from './action-test-kit.js';

describe('delay', () => {
  it.each([
    [{ amount: 30, unit: 'seconds' }, '2025-06-01T12:00:30.000Z'],
    [{ amount: 5, unit: 'minutes' }, '2025-06-01T12:05:00.000Z'],
    [{ amount: 2, unit: 'hours' }, '2025-06-01T14:00:00.000Z'],
    [{ amount: 1, unit: 'days' }, '2025-06-02T12:00:00.000Z'],
  ])('waits for %j', async (duration, until) => {
    const result = await runStep(delayAction, { duration });
    expect(result).toEqual({ kind: 'wait', until: new Date(until), output: { until } });
  });

  it('waits until a rendered instant', async () => {
    const result = await runStep(delayAction, { until: '{{ trigger.at }}' }, { context: makeContext({ at: '2025-06-03T09:00:00+02:00' }) });
    expect(result).toEqual({
      kind: 'wait',
      until: new Date('2025-06-03T07:00:00.000Z'),
      output: { until: '2025-06-03T07:00:00.000Z' },
    });
  });

  it('continues at once when the instant has passed', async () => {
    const result = await runStep(delayAction, { until: '2025-05-01T00:00:00Z' });
    expect(result).toEqual({ kind: 'continue', port: 'next', output: { until: '2025-05-01T00:00:00.000Z', waited: false } });
  });

  it('does not wait again after resuming', async () => {
    const result = await runStep(delayAction, { duration: { amount: 1, unit: 'hours' } }, { resumedAfterWait: true });
    expect(result).toEqual({ kind: 'continue', port: 'next', output: { resumedAt: NOW } });
  });

  it.each([
    ['not a date', 'next tuesday'],
    ['too far away', '2026-06-02T12:00:00Z'],
  ])('fails without retry when the rendered instant is %s', async (_name, at) => {
    const run = runStep(delayAction, { until: '{{ trigger.at }}' }, { context: makeContext({ at }) });
    await expect(run).rejects.toMatchObject({ name: 'ActionError', retryable: false });
  });

  it('accepts exactly 365 days', async () => {
    const result = await runStep(delayAction, { duration: { amount: 365, unit: 'days' } });
    expect(result.kind).toBe('wait');
  });
});

describe('condition', () => {
  const when = {
    all: [
      { path: 'trigger.text', op: 'contains', value: 'price', ignoreCase: true },
      { not: { path: 'steps.lookup.output.blocked', op: 'equals', value: true } },
    ],
  };

  it.each([
    [{ text: 'What is the PRICE?' }, { lookup: { output: { blocked: false } } }, 'true'],
    [{ text: 'hello' }, { lookup: { output: { blocked: false } } }, 'false'],
    [{ text: 'price' }, { lookup: { output: { blocked: true } } }, 'false'],
  ])('%j with %j goes to %s', async (trigger, steps, port) => {
    const result = await runStep(conditionAction, { when }, { context: makeContext(trigger, steps) });
    expect(result).toEqual({ kind: 'continue', port, output: { result: port === 'true' } });
  });

  it('does not render templates in condition values', async () => {
    const result = await runStep(
      conditionAction,
      { when: { path: 'trigger.text', op: 'equals', value: '{{ trigger.other }}' } },
      { context: makeContext({ text: '{{ trigger.other }}', other: 'x' }) },
    );
    expect(result).toMatchObject({ port: 'true' });
  });

  it('has required true and false ports', () => {
    expect(conditionAction.outputPorts(configOf(conditionAction, { when }))).toEqual([
      { name: 'true', required: true },
      { name: 'false', required: true },
    ]);
  });
});

describe('switch', () => {
  const config = {
    cases: [
      { port: 'refund', when: { path: 'trigger.text', op: 'contains', value: 'refund', ignoreCase: true } },
      { port: 'big', when: { path: 'trigger.amount', op: 'gte', value: 100 } },
      { port: 'bigRefund', when: { all: [{ path: 'trigger.amount', op: 'gte', value: 100 }, { path: 'trigger.text', op: 'exists' }] } },
    ],
  };

  it.each([
    [{ text: 'REFUND please', amount: 500 }, 'refund'],
    [{ text: 'hi', amount: 500 }, 'big'],
    [{ text: 'hi', amount: '150' }, 'big'],
    [{ text: 'hi', amount: 5 }, 'default'],
    [{}, 'default'],
  ])('%j goes to %s (first match wins)', async (trigger, port) => {
    const result = await runStep(switchAction, config, { context: makeContext(trigger) });
    expect(result).toEqual({ kind: 'continue', port, output: { port } });
  });

  it('has a required port per case and an optional default', () => {
    expect(switchAction.outputPorts(configOf(switchAction, config))).toEqual([
      { name: 'refund', required: true },
      { name: 'big', required: true },
      { name: 'bigRefund', required: true },
      { name: 'default', required: false },
    ]);
  });

  it('has no ports for an invalid config', () => {
    expect(switchAction.outputPorts({ cases: [] })).toEqual([]);
  });

  it('caps the number of cases', () => {
    const many = Array.from({ length: 51 }, (_, i) => ({ port: `p${i}`, when: { path: 'trigger.x', op: 'exists' } }));
    expect(switchAction.checkConfig({ cases: many }).ok).toBe(false);
    expect(switchAction.checkConfig({ cases: many.slice(0, 50) }).ok).toBe(true);
  });
});

describe('end', () => {
  it('completes the path and has no ports', async () => {
    expect(await runStep(endAction, {})).toEqual({ kind: 'complete', output: {} });
    expect(endAction.outputPorts({})).toEqual([]);
  });
});

describe('run with a stale config', () => {
  it('fails without retry', async () => {
    const run = delayAction.run({
      config: { duration: { amount: -1, unit: 'hours' } },
      context: makeContext(),
      stepId: 'wait',
      attempt: 1,
      resumedAfterWait: false,
      signal: new AbortController().signal,
      services: makeKit().services,
    });
    await expect(run).rejects.toMatchObject({
      name: 'ActionError',
      retryable: false,
      details: { issues: [{ path: 'duration.amount' }] },
    });
  });
});
