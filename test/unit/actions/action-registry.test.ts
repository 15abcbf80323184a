import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAction } from '../../../src/actions/action-definition.js';
import { ActionRegistry } from '../../../src/actions/action-registry.js';
import { builtinActions } from '../../../src/actions/builtin-actions.js';
import { templateString } from '../../../src/actions/config-fields.js';
import { EXTERNAL_CALL_RETRY } from '../../../src/actions/default-retry-policies.js';
import { NEXT_PORT } from '../../../src/domain/graph.js';
import { NO_RETRY } from '../../../src/domain/retry-policy.js';
import type { StepTypeCatalog } from '../../../src/domain/step-type-catalog.js';
import { makeContext, makeKit } from './action-test-kit.js';

const BUILTIN_TYPES = [
  'trigger.manual',
  'trigger.webhook',
  'trigger.incomingMessage',
  'trigger.schedule',
  'instagram.sendDirectMessage',
  'instagram.likeMessage',
  'whatsapp.sendMessage',
  'sms.send',
  'http.request',
  'delay',
  'wait.forEvent',
  'wait.forMessage',
  'condition',
  'switch',
  'end',
];

/** An extra action type, defined the way a new integration would be. */
const slackAction = defineAction({
  type: 'slack.postMessage',
  category: 'action',
  displayName: 'Post to Slack',
  description: 'Posts a message to a Slack channel.',
  config: z.strictObject({ channel: z.string().min(1), text: templateString({ min: 1 }) }),
  ports: [{ name: NEXT_PORT, required: false }],
  retry: EXTERNAL_CALL_RETRY,
  async run(ctx) {
    return { kind: 'continue', port: NEXT_PORT, output: { channel: ctx.config.channel, text: ctx.render(ctx.config.text) } };
  },
});

describe('ActionRegistry', () => {
  const registry = new ActionRegistry(builtinActions);

  it('lists every built-in type', () => {
    expect(registry.list().map((d) => d.type)).toEqual(BUILTIN_TYPES);
  });

  it('is a StepTypeCatalog', () => {
    const catalog: StepTypeCatalog = registry;
    expect(catalog.get('condition')?.category).toBe('logic');
    expect(catalog.get('nope')).toBeUndefined();
  });

  it.each(BUILTIN_TYPES)('has a JSON schema for %s', (type) => {
    const schema = registry.jsonSchema(type);
    expect(schema).toBeDefined();
    expect(schema?.type).toBe('object');
    expect(() => JSON.stringify(schema)).not.toThrow();
  });

  it('returns no JSON schema for an unknown type', () => {
    expect(registry.jsonSchema('nope')).toBeUndefined();
  });

  it('marks template fields in the JSON schema', () => {
    const schema = registry.jsonSchema('sms.send');
    expect(schema?.properties?.text).toMatchObject({ type: 'string', 'x-template': true });
  });

  it('describes the recursive condition language in JSON schema', () => {
    const text = JSON.stringify(registry.jsonSchema('condition'));
    expect(text).toContain('"all"');
    expect(text).toContain('"matches"');
    expect(text).toContain('$ref');
  });

  it('categorises the built-ins', () => {
    const byCategory = (c: string) => registry.list().filter((d) => d.category === c).map((d) => d.type);
    expect(byCategory('trigger')).toEqual(['trigger.manual', 'trigger.webhook', 'trigger.incomingMessage', 'trigger.schedule']);
    expect(byCategory('logic')).toEqual(['delay', 'wait.forEvent', 'wait.forMessage', 'condition', 'switch', 'end']);
  });

  it('rejects duplicates and malformed type names', () => {
    expect(() => new ActionRegistry([...builtinActions, builtinActions[0]!])).toThrow(/registered twice/);
    expect(() => new ActionRegistry([{ ...slackAction, type: 'Slack Post' }])).toThrow(/not a valid type name/);
  });

  it('takes extra types alongside the built-ins', async () => {
    const extended = new ActionRegistry([...builtinActions, slackAction]);
    expect(extended.list().map((d) => d.type)).toContain('slack.postMessage');
    const slack = extended.get('slack.postMessage');
    expect(slack?.displayName).toBe('Post to Slack');
    // An action type gets the error port without declaring it.
    expect(slack?.outputPorts({ channel: 'x', text: 'y' })).toEqual([
      { name: 'next', required: false },
      { name: 'error', required: false },
    ]);
    expect(extended.jsonSchema('slack.postMessage')?.required).toEqual(['channel', 'text']);
    const check = extended.checkConfig('slack.postMessage', { channel: '#general', text: 'Hi {{ trigger.name }}' });
    expect(check.ok).toBe(true);
    const result = await slack?.run({
      config: { channel: '#general', text: 'Hi {{ trigger.name }}' },
      context: makeContext({ name: 'Ann' }),
      stepId: 's',
      attempt: 1,
      resumedAfterWait: false,
      signal: new AbortController().signal,
      services: makeKit().services,
    });
    expect(result).toEqual({ kind: 'continue', port: 'next', output: { channel: '#general', text: 'Hi Ann' } });
  });
});

describe('checkConfig', () => {
  const registry = new ActionRegistry(builtinActions);

  it('applies defaults', () => {
    expect(registry.checkConfig('http.request', { url: 'https://example.com' })).toEqual({
      ok: true,
      config: { method: 'GET', url: 'https://example.com', headers: {}, timeoutMs: 10_000, maxResponseBytes: 1024 * 1024 },
    });
    expect(registry.checkConfig('trigger.incomingMessage', { channel: 'sms' })).toEqual({
      ok: true,
      config: { channel: 'sms', match: 'contains', ignoreCase: true },
    });
  });

  it('reports an unknown type', () => {
    expect(registry.checkConfig('nope', {})).toEqual({ ok: false, issues: [{ path: 'type', message: "Unknown step type 'nope'" }] });
  });

  const paths = (type: string, config: unknown): string[] => {
    const check = registry.checkConfig(type, config);
    return check.ok ? [] : check.issues.map((i) => i.path);
  };

  it.each<[string, string, unknown, string[]]>([
    ['missing field', 'sms.send', { to: '+1555' }, ['text']],
    ['bad template', 'sms.send', { to: '+1555', text: 'Hi {{ trigger.name ' }, ['text']],
    ['unknown filter in template', 'whatsapp.sendMessage', { to: '{{ trigger.from | evil }}', text: 'x' }, ['to']],
    ['unknown field', 'end', { extra: 1 }, ['extra']],
    ['not an object', 'end', 'x', ['']],
    ['header template', 'http.request', { url: 'https://x.test', headers: { 'x-a': '{{ a ' } }, ['headers.x-a']],
    ['body template deep', 'http.request', { method: 'POST', url: 'https://x.test', body: { a: ['ok', '{% if %}'] } }, ['body.a.1']],
    ['switch case port', 'switch', { cases: [{ port: '1bad', when: { path: 'trigger.x', op: 'exists' } }] }, ['cases.0.port']],
    [
      'switch duplicate port',
      'switch',
      {
        cases: [
          { port: 'a', when: { path: 'trigger.x', op: 'exists' } },
          { port: 'a', when: { path: 'trigger.y', op: 'exists' } },
        ],
      },
      ['cases.1.port'],
    ],
    ['switch default port', 'switch', { cases: [{ port: 'default', when: { path: 'trigger.x', op: 'exists' } }] }, ['cases.0.port']],
    ['condition leaf op', 'condition', { when: { path: 'trigger.x', op: 'bogus', value: 1 } }, ['when.op']],
    [
      'nested condition leaf value',
      'condition',
      { when: { all: [{ path: 'trigger.x', op: 'exists' }, { any: [{ path: 'trigger.y', op: 'in', value: 'a' }] }] } },
      ['when.all.1.any.0.value'],
    ],
    ['condition regex', 'condition', { when: { path: 'trigger.x', op: 'matches', value: '[' } }, ['when.value']],
    ['condition missing', 'condition', {}, ['when']],
    ['delay neither', 'delay', {}, ['']],
    ['delay both', 'delay', { duration: { amount: 1, unit: 'hours' }, until: '2020-01-01T00:00:00Z' }, ['']],
    ['delay too long', 'delay', { duration: { amount: 366, unit: 'days' } }, ['duration.amount']],
    ['delay bad unit', 'delay', { duration: { amount: 1, unit: 'weeks' } }, ['duration.unit']],
    ['delay literal until', 'delay', { until: 'tomorrow' }, ['until']],
    ['delay until past 365 days', 'delay', { until: '9999-12-31T00:00:00Z' }, ['until']],
    ['delay until off the calendar', 'delay', { until: '2024-02-30' }, ['until']],
    ['http url', 'http.request', { url: 'ftp://x.test/file' }, ['url']],
    ['http timeout', 'http.request', { url: 'https://x.test', timeoutMs: 60_001 }, ['timeoutMs']],
    ['http GET body', 'http.request', { url: 'https://x.test', body: 'x' }, ['body']],
    ['retry override', 'sms.send', { to: '1', text: 'x', retry: { maxAttempts: 0 } }, ['retry.maxAttempts']],
    ['incoming channel', 'trigger.incomingMessage', { channel: 'email' }, ['channel']],
  ])('reports %s', (_name, type, config, expected) => {
    expect(paths(type, config)).toEqual(expected);
  });
});

describe('retryPolicy', () => {
  const registry = new ActionRegistry(builtinActions);

  it('uses the type default', () => {
    expect(registry.get('sms.send')?.retryPolicy({ to: '1', text: 'x' })).toEqual(EXTERNAL_CALL_RETRY);
    expect(registry.get('delay')?.retryPolicy({ duration: { amount: 1, unit: 'hours' } })).toEqual(NO_RETRY);
  });

  it('lays the config override over the default', () => {
    expect(registry.get('http.request')?.retryPolicy({ url: 'https://x.test', retry: { maxAttempts: 5 } })).toEqual({
      ...EXTERNAL_CALL_RETRY,
      maxAttempts: 5,
    });
  });
});
