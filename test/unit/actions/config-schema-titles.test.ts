import { describe, expect, it } from 'vitest';
import { builtinActions } from '../../../src/actions/builtin-actions.js';
import { delayAction } from '../../../src/actions/delay.action.js';
import { httpRequestAction } from '../../../src/actions/http-request.action.js';

type Schema = { readonly [key: string]: unknown };

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every field (a key of some `properties`) anywhere in a JSON Schema, with its dotted path;
 * `$ref`s into `$defs` are followed once each, so recursive schemas (conditions) end.
 */
const fieldsOf = (root: Schema): { path: string; field: Schema }[] => {
  const defs = isSchema(root.$defs) ? root.$defs : {};
  const seenRefs = new Set<string>();
  const out: { path: string; field: Schema }[] = [];
  const walk = (schema: unknown, path: string): void => {
    if (!isSchema(schema)) return;
    if (typeof schema.$ref === 'string' && !seenRefs.has(schema.$ref)) {
      seenRefs.add(schema.$ref);
      walk(defs[schema.$ref.replace('#/$defs/', '')], path);
    }
    if (isSchema(schema.properties)) {
      for (const [name, field] of Object.entries(schema.properties)) {
        if (!isSchema(field)) continue;
        out.push({ path: path ? `${path}.${name}` : name, field });
        walk(field, path ? `${path}.${name}` : name);
      }
    }
    walk(schema.items, `${path}[]`);
    walk(schema.additionalProperties, `${path}{}`);
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      const branches = schema[key];
      if (Array.isArray(branches)) branches.forEach((b: unknown) => walk(b, path));
    }
  };
  walk(root, '');
  return out;
};

describe('the JSON Schemas of the built-in action types can drive a labelled form', () => {
  it.each(builtinActions.map((a) => [a.type, a] as const))('%s: every field has a title and a description', (_type, action) => {
    const fields = fieldsOf(action.jsonSchema());
    const untitled = fields.filter(({ field }) => typeof field.title !== 'string' || field.title === '').map((f) => f.path);
    const undescribed = fields.filter(({ field }) => typeof field.description !== 'string' || field.description === '').map((f) => f.path);
    expect(untitled).toEqual([]);
    expect(undescribed).toEqual([]);
  });

  it('the walk sees nested fields: a switch case, a condition leaf, a retry policy', () => {
    const paths = (type: string) => fieldsOf(builtinActions.find((a) => a.type === type)!.jsonSchema()).map((f) => f.path);
    expect(paths('switch')).toEqual(expect.arrayContaining(['cases', 'cases[].port', 'cases[].when', 'cases[].when.all', 'cases[].when.path', 'cases[].when.value']));
    expect(paths('sms.send')).toEqual(expect.arrayContaining(['to', 'text', 'retry', 'retry.maxAttempts', 'retry.jitter']));
    expect(paths('delay')).toEqual(expect.arrayContaining(['duration', 'duration.amount', 'duration.unit', 'until']));
  });

  it('carries bounds the server enforces beyond types: header count, per-unit delay maxima', () => {
    const http = httpRequestAction.jsonSchema() as { properties: { headers: { maxProperties?: number } } };
    expect(http.properties.headers.maxProperties).toBe(50);
    expect(httpRequestAction.checkConfig({ url: 'https://x.test', headers: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`h${i}`, 'v'])) }).ok).toBe(false);

    const delay = delayAction.jsonSchema() as { properties: { duration: { oneOf: { properties: { amount: { maximum: number }; unit: { const: string } } }[] } } };
    for (const branch of delay.properties.duration.oneOf) {
      const { unit, amount } = branch.properties;
      const config = { duration: { amount: amount.maximum, unit: unit.const } };
      expect(delayAction.checkConfig(config).ok, JSON.stringify(config)).toBe(true);
      expect(delayAction.checkConfig({ duration: { amount: amount.maximum + 1, unit: unit.const } }).ok).toBe(false);
    }
  });
});
