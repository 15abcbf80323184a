import { describe, expect, it } from 'vitest';
import { ActionError } from '../../../src/domain/action-error.js';
import { instagramLikeMessageAction } from '../../../src/actions/instagram-like-message.action.js';
import { instagramSendDirectMessageAction } from '../../../src/actions/instagram-send-direct-message.action.js';
import { smsSendAction } from '../../../src/actions/sms-send.action.js';
import { whatsappSendMessageAction } from '../../../src/actions/whatsapp-send-message.action.js';
import { makeContext, makeKit, runStep } from './action-test-kit.js';

const trigger = { message: { from: 'ann_ig', text: 'price?', id: 'mid-9' }, phone: '+15550001' };

describe.each([
  ['instagram', instagramSendDirectMessageAction, '{{ trigger.message.from }}', 'ann_ig'],
  ['whatsapp', whatsappSendMessageAction, '{{ trigger.phone }}', '+15550001'],
  ['sms', smsSendAction, '{{ trigger.phone }}', '+15550001'],
] as const)('%s send action', (channel, action, toTemplate, to) => {
  it('renders to/text and sends with the idempotency key', async () => {
    const kit = makeKit();
    const result = await runStep(
      action,
      { to: toTemplate, text: 'You asked: {{ trigger.message.text | upcase }}' },
      { kit, context: makeContext(trigger), stepId: 'reply' },
    );
    expect(kit.providers[channel].sent).toEqual([
      {
        channel,
        to,
        text: 'You asked: PRICE?',
        instanceId: 'inst-1',
        stepId: 'reply',
        idempotencyKey: 'inst-1:reply',
        beforeSend: expect.any(Function),
      },
    ]);
    expect(result).toEqual({
      kind: 'continue',
      port: 'next',
      output: { providerMessageId: 'pm-1', to, text: 'You asked: PRICE?' },
    });
  });

  it('uses the same idempotency key on every attempt', async () => {
    const kit = makeKit();
    for (const attempt of [1, 2]) {
      await runStep(action, { to: 'x', text: 'y' }, { kit, attempt, stepId: 's' });
    }
    expect(kit.providers[channel].sent.map((m) => m.idempotencyKey)).toEqual(['inst-1:s', 'inst-1:s']);
  });

  it('fails without retry when the recipient renders empty', async () => {
    const kit = makeKit();
    const run = runStep(action, { to: '{{ trigger.nobody }}', text: 'y' }, { kit });
    await expect(run).rejects.toMatchObject({ name: 'ActionError', retryable: false, details: { field: 'to' } });
    expect(kit.providers[channel].sent).toEqual([]);
  });

  it('keeps a provider failure retryable unless it says otherwise', async () => {
    const kit = makeKit();
    kit.providers[channel].failWith = new Error('socket hang up');
    await expect(runStep(action, { to: 'x', text: 'y' }, { kit })).rejects.toMatchObject({ retryable: true });
    kit.providers[channel].failWith = Object.assign(new Error('invalid recipient'), {
      retryable: false,
      code: 'RECIPIENT_INVALID',
    });
    const err = await runStep(action, { to: 'x', text: 'y' }, { kit }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect(err).toMatchObject({ retryable: false, message: 'invalid recipient', details: { code: 'RECIPIENT_INVALID' } });
  });

  it('has an optional next port and, as every action step, an optional error port', () => {
    expect(action.outputPorts({ to: 'x', text: 'y' })).toEqual([
      { name: 'next', required: false },
      { name: 'error', required: false },
    ]);
    expect(action.hasErrorPort).toBe(true);
  });
});

describe('instagram.likeMessage', () => {
  it('likes the rendered message id', async () => {
    const kit = makeKit();
    const result = await runStep(
      instagramLikeMessageAction,
      { messageId: '{{ trigger.message.id }}' },
      { kit, context: makeContext(trigger), stepId: 'like' },
    );
    expect(kit.providers.instagram.liked).toEqual([
      { channel: 'instagram', messageId: 'mid-9', instanceId: 'inst-1', stepId: 'like', idempotencyKey: 'inst-1:like', beforeSend: expect.any(Function) },
    ]);
    expect(result).toEqual({ kind: 'continue', port: 'next', output: { messageId: 'mid-9' } });
  });

  it('fails without retry when the provider cannot like', async () => {
    const kit = makeKit();
    const noLike = kit.providers.whatsapp; // built without like support
    const services = { ...kit.services, messaging: () => noLike };
    const run = instagramLikeMessageAction.run({
      config: { messageId: 'm' },
      context: makeContext(),
      stepId: 's',
      attempt: 1,
      resumedAfterWait: false,
      signal: new AbortController().signal,
      services,
    });
    await expect(run).rejects.toMatchObject({ retryable: false });
  });
});
