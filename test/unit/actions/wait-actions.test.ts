import { describe, expect, it } from 'vitest';
import { waitForEventAction } from '../../../src/actions/wait-for-event.action.js';
import { waitForMessageAction } from '../../../src/actions/wait-for-message.action.js';
import { issuesOf, makeContext, NOW, runStep } from './action-test-kit.js';

const config = { event: 'order.paid', key: 'order-{{ trigger.body.order }}', timeout: { amount: 2, unit: 'hours' } };
const context = makeContext({ body: { order: 42 } });

describe('wait.forEvent', () => {
  it('waits for the event with the rendered key, until its timeout', async () => {
    const result = await runStep(waitForEventAction, config, { context });
    expect(result).toEqual({
      kind: 'wait',
      until: new Date('2025-06-01T14:00:00.000Z'),
      output: { event: 'order.paid', key: 'order-42', until: '2025-06-01T14:00:00.000Z' },
      for: { reason: 'event', name: 'order.paid', key: 'order-42' },
    });
  });

  it('continues on received with the payload as its output when the event ended the wait', async () => {
    const arrival = { reason: 'event', payload: { status: 'paid', amount: 180 }, at: NOW } as const;
    const result = await runStep(waitForEventAction, config, { context, arrival });
    expect(result).toEqual({ kind: 'continue', port: 'received', output: { status: 'paid', amount: 180 } });
  });

  it('continues on timedOut when the timeout ended the wait', async () => {
    const result = await runStep(waitForEventAction, config, { context, resumedAfterWait: true });
    expect(result).toEqual({ kind: 'continue', port: 'timedOut', output: { timedOut: true, event: 'order.paid', key: 'order-42' } });
  });

  it('has received and timedOut ports, timedOut required so that publishing reports a wait without one', () => {
    expect(waitForEventAction.listedPorts).toEqual([
      { name: 'received', required: false },
      { name: 'timedOut', required: true },
    ]);
    expect(waitForEventAction.hasErrorPort).toBe(false);
  });

  it.each([
    ['an empty key once rendered', makeContext({ body: {} }), '{{ trigger.body.order }}'],
    ['a key with a line break', makeContext({ body: { order: 'a\nb' } }), 'o-{{ trigger.body.order }}'],
    ['a key too long', makeContext({ body: { order: 'x'.repeat(300) } }), '{{ trigger.body.order }}'],
  ])('fails without retry on %s', async (_what, ctx, key) => {
    await expect(runStep(waitForEventAction, { ...config, key }, { context: ctx })).rejects.toMatchObject({
      name: 'ActionError',
      retryable: false,
      message: expect.stringMatching(/correlation key is refused/),
    });
  });

  it.each([
    ['a timeout over 365 days', { ...config, timeout: { amount: 366, unit: 'days' } }, 'timeout.amount'],
    ['a timeout in hours over 365 days', { ...config, timeout: { amount: 8761, unit: 'hours' } }, 'timeout.amount'],
    ['no timeout', { event: 'e', key: 'k' }, 'timeout'],
    ['an empty event name', { ...config, event: '' }, 'event'],
    ['an event name with a control character', { ...config, event: 'paid\u0007' }, 'event'],
    ['an event name too long', { ...config, event: 'e'.repeat(101) }, 'event'],
    ['a static key with a line break', { ...config, key: 'a\nb' }, 'key'],
    ['a broken template key', { ...config, key: 'order-{{ trigger.body.order' }, 'key'],
  ])('refuses a config with %s', (_what, bad, path) => {
    expect(issuesOf(waitForEventAction, bad).map((i) => i.path)).toContain(path);
  });

  it('accepts exactly 365 days', () => {
    expect(issuesOf(waitForEventAction, { ...config, timeout: { amount: 365, unit: 'days' } })).toEqual([]);
  });
});

describe('wait.forMessage', () => {
  const trigger = { message: { id: 'm1', from: '+15550100', to: '+15005550006', text: 'JOIN', channel: 'sms', receivedAt: NOW } };
  const ctx = makeContext(trigger);
  const base = { channel: 'sms', timeout: { amount: 1, unit: 'days' } };

  it('waits for the sender of the triggering message by default, until its timeout, keeping the reply to itself', async () => {
    const result = await runStep(waitForMessageAction, base, { context: ctx, stepId: 'reply' });
    expect(result).toEqual({
      kind: 'wait',
      until: new Date('2025-06-02T12:00:00.000Z'),
      output: { channel: 'sms', from: '+15550100', until: '2025-06-02T12:00:00.000Z' },
      for: { reason: 'message', channel: 'sms', contact: '+15550100', stepId: 'reply', alsoStartsWorkflows: false },
    });
  });

  it("binds the condition at the wait: what reads the run is decided, what reads the reply is kept", async () => {
    const when = {
      all: [
        { path: 'trigger.message.text', op: 'equals', value: 'JOIN' },
        { path: 'steps.reply.output.text', op: 'contains', value: 'yes', ignoreCase: true },
      ],
    };
    const result = await runStep(waitForMessageAction, { ...base, from: '{{ trigger.message.to }}', when, alsoStartWorkflows: true }, { context: ctx, stepId: 'reply' });
    expect(result).toMatchObject({
      kind: 'wait',
      for: {
        contact: '+15005550006',
        alsoStartsWorkflows: true,
        when: { all: [{ all: [] }, { path: 'steps.reply.output.text', op: 'contains', value: 'yes', ignoreCase: true }] },
      },
    });
  });

  it('continues on received with the message as output, or on timedOut', async () => {
    const reply = { id: 'm2', from: '+15550100', to: '+15005550006', text: 'yes', channel: 'sms', receivedAt: NOW };
    expect(await runStep(waitForMessageAction, base, { context: ctx, arrival: { reason: 'message', payload: reply, at: NOW } })).toEqual({
      kind: 'continue',
      port: 'received',
      output: reply,
    });
    expect(await runStep(waitForMessageAction, base, { context: ctx, resumedAfterWait: true })).toEqual({
      kind: 'continue',
      port: 'timedOut',
      output: { timedOut: true, channel: 'sms', from: '+15550100' },
    });
  });

  it('fails without retry when the sender renders empty (no triggering message)', async () => {
    await expect(runStep(waitForMessageAction, base, { context: makeContext({}) })).rejects.toMatchObject({
      name: 'ActionError',
      retryable: false,
      message: expect.stringMatching(/sender is refused: A sender must not be empty/),
    });
  });

  it.each([
    ['an unknown channel', { ...base, channel: 'fax' }, 'channel'],
    ['a timeout over 365 days', { ...base, timeout: { amount: 366, unit: 'days' } }, 'timeout.amount'],
    ['a condition on an unknown root', { ...base, when: { path: 'reply.text', op: 'exists' } }, 'when.path'],
    ['no timeout', { channel: 'sms' }, 'timeout'],
  ])('refuses a config with %s', (_what, bad, path) => {
    expect(issuesOf(waitForMessageAction, bad).map((i) => i.path)).toContain(path);
  });
});
