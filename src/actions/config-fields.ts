import { z } from 'zod';
import type { JsonValue } from '../domain/json.js';
import { TEMPLATE_MAX_LENGTH, validateTemplateSyntax } from '../domain/template.js';

/** Options of {@link templateString}. */
export interface TemplateStringOptions {
  /** Shortest source accepted; default 0. */
  readonly min?: number;
  /** Longest source accepted; default the template engine's limit. */
  readonly max?: number;
}

/**
 * A config string that is rendered as a Liquid template at run time. Its syntax is checked when
 * the config is checked, so a broken template is reported on save, not mid-run. Marked with
 * `x-template: true` in the JSON schema so forms can offer variable pickers.
 */
export const templateString = (options: TemplateStringOptions = {}) =>
  z
    .string()
    .min(options.min ?? 0)
    .max(options.max ?? TEMPLATE_MAX_LENGTH)
    .superRefine((source, ctx) => {
      const error = validateTemplateSyntax(source);
      if (error !== undefined) ctx.addIssue({ code: 'custom', message: `Invalid template: ${error}` });
    })
    .meta({ 'x-template': true });

const collectTemplateErrors = (value: JsonValue, path: PropertyKey[], out: { path: PropertyKey[]; error: string }[]) => {
  if (typeof value === 'string') {
    const error = validateTemplateSyntax(value);
    if (error !== undefined) out.push({ path, error });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => collectTemplateErrors(item, [...path, i], out));
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, item] of Object.entries(value)) collectTemplateErrors(item, [...path, k], out);
  }
};

/**
 * Any JSON value whose strings are templates (rendered with `renderDeep`). Each string's syntax
 * is checked, and issues point at the string's own path.
 */
export const templateJson = () =>
  z
    .json()
    .superRefine((value, ctx) => {
      const errors: { path: PropertyKey[]; error: string }[] = [];
      collectTemplateErrors(value, [], errors);
      for (const { path, error } of errors) {
        ctx.addIssue({ code: 'custom', path, message: `Invalid template: ${error}` });
      }
    })
    .meta({ 'x-template': true });
