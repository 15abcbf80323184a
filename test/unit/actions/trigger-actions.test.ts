import { describe, expect, it } from 'vitest';
import {
  matchesIncomingMessage,
  triggerIncomingMessageAction,
  type IncomingMessageConfig,
} from '../../../src/actions/trigger-incoming-message.action.js';
import { triggerManualAction } from '../../../src/actions/trigger-manual.action.js';
import { triggerWebhookAction } from '../../../src/actions/trigger-webhook.action.js';
import { makeContext, runStep } from './action-test-kit.js';

describe.each([
  ['trigger.manual', triggerManualAction, {}],
  ['trigger.webhook', triggerWebhookAction, { description: 'Called by the shop' }],
  ['trigger.incomingMessage', triggerIncomingMessageAction, { channel: 'instagram', keyword: 'price' }],
] as const)('%s', (_type, action, config) => {
  it('passes the trigger input on to next', async () => {
    const input = { message: { text: 'price?' }, from: 'ann' };
    expect(await runStep(action, config, { context: makeContext(input) })).toEqual({ kind: 'continue', port: 'next', output: input });
  });

  it('has one required next port', () => {
    expect(action.category).toBe('trigger');
    expect(action.outputPorts({})).toEqual([{ name: 'next', required: true }]);
  });
});

describe('matchesIncomingMessage', () => {
  const config = (partial: Partial<IncomingMessageConfig>): IncomingMessageConfig => ({
    channel: 'sms',
    match: 'contains',
    ignoreCase: true,
    ...partial,
  });

  it.each<[Partial<IncomingMessageConfig>, string, boolean]>([
    [{}, 'anything', true],
    [{ keyword: 'price' }, 'What is the PRICE?', true],
    [{ keyword: 'price', ignoreCase: false }, 'What is the PRICE?', false],
    [{ keyword: 'stop', match: 'equals' }, '  STOP ', true],
    [{ keyword: 'stop', match: 'equals' }, 'stop now', false],
    [{ keyword: 'info', match: 'startsWith' }, 'Info please', true],
    [{ keyword: 'info', match: 'startsWith' }, 'more info', false],
  ])('%j on %j -> %s', (partial, text, expected) => {
    expect(matchesIncomingMessage(config(partial), text)).toBe(expected);
  });
});
