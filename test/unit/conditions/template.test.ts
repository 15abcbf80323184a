import { describe, expect, it } from 'vitest';
import { isJsonObject, type JsonValue } from '../../../src/domain/json.js';
import {
  TEMPLATE_MAX_LENGTH,
  TEMPLATE_MAX_OUTPUT,
  TemplateError,
  renderDeep,
  renderTemplate,
  validateTemplateSyntax,
} from '../../../src/domain/template.js';

const context = {
  trigger: { message: { text: 'Hi <b>there</b>', from: 'ann' }, items: [{ name: 'a' }, { name: 'b' }], n: 2 },
  steps: { fetch: { output: { status: 200, body: { ok: true } } } },
  instance: { id: 'inst-1', workflowId: 'wf-1', version: 1, startedAt: '2025-01-01T00:00:00Z' },
};

describe('renderTemplate', () => {
  it.each([
    ['plain text', 'plain text'],
    ['Hello {{ trigger.message.from }}', 'Hello ann'],
    ['{{trigger.message.text}}', 'Hi <b>there</b>'],
    ['{{ trigger.items[1].name }}', 'b'],
    ['{{ trigger.items.size }}', '2'],
    ['{{ steps.fetch.output.status }}', '200'],
    ['{{ steps.fetch.output.body }}', '{"ok":true}'],
    ['{{ trigger.items }}', '[{"name":"a"},{"name":"b"}]'],
    ['{{ trigger.missing.deeper }}', ''],
    ['{{ trigger.message.from | upcase }}', 'ANN'],
    ['{{ trigger.n | plus: 3 }}', '5'],
    ['{{ trigger.message | json }}', '{"text":"Hi <b>there</b>","from":"ann"}'],
    ['{% if trigger.n > 1 %}many{% else %}one{% endif %}', 'many'],
    ['{% for i in trigger.items %}{{ i.name }};{% endfor %}', 'a;b;'],
    ['{{ instance.id }}', 'inst-1'],
  ])('%s', (template, expected) => {
    expect(renderTemplate(template, context)).toBe(expected);
  });

  it('leaves strings without markup untouched', () => {
    expect(renderTemplate('a } b { c', context)).toBe('a } b { c');
  });

  it('throws TemplateError for a syntax error', () => {
    expect(() => renderTemplate('{{ trigger.x ', context)).toThrow(TemplateError);
  });

  it('caps the output size', () => {
    const big = { trigger: { s: 'x'.repeat(TEMPLATE_MAX_OUTPUT) } };
    expect(() => renderTemplate('{{ trigger.s }}!', big)).toThrow(/longer than/);
  });

  it('bounds runaway loops', () => {
    expect(() => renderTemplate('{% for i in (1..100000000) %}{{ i }}{% endfor %}', context)).toThrow(TemplateError);
  });
});

describe('no code execution', () => {
  it.each([
    '{{ constructor }}',
    '{{ trigger.constructor }}',
    '{{ trigger.constructor.constructor }}',
    "{{ trigger.constructor.constructor('return process')() }}",
    '{{ trigger.__proto__ }}',
    '{{ trigger.message.text.constructor.name }}',
    '{{ trigger.items.constructor.prototype }}',
    '{{ this }}',
    '{{ process.env }}',
    '{{ globalThis }}',
    '{% assign f = trigger.constructor.constructor %}{{ f }}',
  ])('%s renders harmlessly', (template) => {
    let out: string | undefined;
    try {
      out = renderTemplate(template, context);
    } catch (err) {
      // A refusal is harmless too, as long as it is our error and not a side effect.
      expect(err).toBeInstanceOf(TemplateError);
      return;
    }
    expect(out).toBe('');
  });

  it('does not expose inherited properties of the scope', () => {
    expect(renderTemplate('{{ toString }}{{ hasOwnProperty }}', context)).toBe('');
  });

  it('does not pollute prototypes through assign', () => {
    renderTemplate("{% assign __proto__ = 'x' %}{% assign constructor = 'y' %}", context);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

describe('validateTemplateSyntax', () => {
  it.each(['', 'plain', 'Hi {{ trigger.name }}', '{% if a %}x{% endif %}', '{{ a | default: "b" }}'])(
    'accepts %j',
    (template) => {
      expect(validateTemplateSyntax(template)).toBeUndefined();
    },
  );

  it.each([
    ['unclosed output', '{{ trigger.name '],
    ['unclosed tag', '{% if a %}x'],
    ['unknown filter', '{{ a | nope }}'],
    ['unknown tag', '{% exec "ls" %}'],
    ['include', "{% include 'secrets' %}"],
    ['render', "{% render '/etc/passwd' %}"],
    ['layout', "{% layout 'x' %}"],
    ['too long', `{{ a }}${'x'.repeat(TEMPLATE_MAX_LENGTH)}`],
  ])('rejects %s', (_name, template) => {
    expect(validateTemplateSyntax(template)).toEqual(expect.any(String));
  });
});

describe('renderDeep', () => {
  it('renders every string and keeps the shape', () => {
    const value = {
      greeting: 'Hi {{ trigger.message.from }}',
      list: ['{{ trigger.n }}', 3, true, null, { deep: '{{ instance.id }}' }],
      '{{ key }}': 'keys stay',
    };
    expect(renderDeep(value, context)).toEqual({
      greeting: 'Hi ann',
      list: ['2', 3, true, null, { deep: 'inst-1' }],
      '{{ key }}': 'keys stay',
    });
  });

  it('keeps a __proto__ key as data', () => {
    const value: JsonValue = JSON.parse('{"__proto__": {"polluted": "{{ trigger.n }}"}}');
    const out = renderDeep(value, context);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(isJsonObject(out) && Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
