import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAction } from '../../../src/actions/action-definition.js';
import { ActionRegistry } from '../../../src/actions/action-registry.js';
import { builtinActions } from '../../../src/actions/builtin-actions.js';
import { TRIGGER_PORTS } from '../../../src/actions/trigger-ports.js';
import type { InboundMessage } from '../../../src/ports/inbound-delivery.store.port.js';
import type { InboundChannel } from '../../../src/ports/inbound-message.store.port.js';
import {
  matchesIncomingMessage,
  triggerIncomingMessageAction,
  type IncomingMessageConfig,
} from '../../../src/actions/trigger-incoming-message.action.js';
import { triggerManualAction } from '../../../src/actions/trigger-manual.action.js';
import { triggerWebhookAction } from '../../../src/actions/trigger-webhook.action.js';
import { makeContext, NOW, runStep } from './action-test-kit.js';

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

describe('how trigger types are started', () => {
  const registry = new ActionRegistry(builtinActions);
  const message = (text: string, channel: InboundChannel = 'instagram'): InboundMessage => ({
    provider: 'meta',
    channel,
    from: 'igsid-1',
    to: 'igsid-2',
    text,
    providerMessageId: 'mid.1',
    receivedAt: new Date(NOW),
  });

  it('each built-in trigger declares its start; other types declare none', () => {
    expect(registry.startOf('trigger.manual')?.kind).toBe('manual');
    expect(registry.startOf('trigger.webhook')?.kind).toBe('webhook');
    expect(registry.startOf('trigger.incomingMessage')?.kind).toBe('inbound');
    expect(registry.startOf('sms.send')).toBeUndefined();
    expect(registry.startOf('no.such')).toBeUndefined();
    expect(registry.inboundTriggers().map((t) => t.type)).toEqual(['trigger.incomingMessage']);
  });

  it('an inbound trigger parses a stored config once and matches messages with it', () => {
    const [incoming] = registry.inboundTriggers();
    const config = { channel: 'instagram', keyword: 'price', match: 'contains', ignoreCase: true };
    expect(incoming!.start.channel(config)).toBe('instagram');
    const matches = incoming!.start.matcher(config)!;
    expect([matches(message('The PRICE?')), matches(message('hello'))]).toEqual([true, false]);
    // A stored config that no longer parses starts nothing rather than failing the delivery.
    expect(incoming!.start.matcher({ channel: 'fax' })).toBeUndefined();
    expect(incoming!.start.channel({ channel: 'fax' })).toBeUndefined();
  });

  it('a trigger must declare its start, and only a trigger may', () => {
    const base = { displayName: 'X', description: 'X', config: z.strictObject({}), ports: TRIGGER_PORTS, run: async () => ({ kind: 'complete' as const, output: null }) };
    expect(() => defineAction({ ...base, type: 'test.noStart', category: 'trigger' })).toThrow(/must declare how it is started/);
    expect(() => defineAction({ ...base, type: 'test.action', category: 'action', start: { kind: 'manual' } })).toThrow(/not a trigger/);
  });
});
