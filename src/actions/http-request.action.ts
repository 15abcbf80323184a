import { z } from 'zod';
import { NEXT_PORT } from '../domain/graph.js';
import type { JsonValue } from '../domain/json.js';
import { retryOverrideSchema } from '../domain/retry-policy.js';
import { isTemplate } from '../domain/template.js';
import { HTTP_METHODS, type HttpResponse } from '../ports/http-client.port.js';
import { isStorableString } from '../domain/storable-json.js';
import { defineAction } from './action-definition.js';
import { ActionError, fatal } from '../domain/action-error.js';
import { templateJson, templateString } from './config-fields.js';
import { EXTERNAL_CALL_RETRY } from './default-retry-policies.js';

/** Longest allowed timeout. */
export const HTTP_MAX_TIMEOUT_MS = 60_000;
/** Largest response body a step may ask for. */
export const HTTP_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const MAX_HEADERS = 50;
const MAX_BODY_SOURCE = 100_000;
const ERROR_BODY_SNIPPET = 1_000;
/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const isHttpUrl = (s: string): boolean => {
  try {
    const url = new URL(s);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};

const httpRequestConfigSchema = z
  .strictObject({
    method: z
      .enum(HTTP_METHODS)
      .default('GET')
      .meta({ title: 'Method', description: 'The HTTP method; GET and HEAD take no body.' }),
    url: templateString({ min: 1, max: 2_048 })
      .refine((s) => isTemplate(s) || isHttpUrl(s), 'Must be an absolute http(s) URL')
      .meta({
        title: 'URL',
        description:
          'An absolute http(s) URL; a template. Private, loopback and cloud-metadata addresses are refused unless the server allows them.',
      }),
    headers: z
      .record(z.string().regex(HEADER_NAME, 'Invalid header name'), templateString({ max: 4_096 }))
      .refine((h) => Object.keys(h).length <= MAX_HEADERS, `At most ${MAX_HEADERS} headers`)
      .default({})
      .meta({ title: 'Headers', description: 'Request headers by name; the values are templates.', maxProperties: MAX_HEADERS }),
    body: templateJson()
      .refine((b) => JSON.stringify(b).length <= MAX_BODY_SOURCE, `Body is longer than ${MAX_BODY_SOURCE} characters`)
      .meta({
        title: 'Body',
        description: `A string is sent as is after rendering; any other JSON value has its strings rendered and is sent as JSON. At most ${MAX_BODY_SOURCE} characters of JSON; not with GET or HEAD.`,
      })
      .optional(),
    timeoutMs: z
      .int()
      .min(1)
      .max(HTTP_MAX_TIMEOUT_MS)
      .default(10_000)
      .meta({ title: 'Timeout (ms)', description: 'How long to wait for the whole response.' }),
    maxResponseBytes: z
      .int()
      .min(1)
      .max(HTTP_MAX_RESPONSE_BYTES)
      .default(1024 * 1024)
      .meta({ title: 'Max response bytes', description: 'A longer response body is cut there (the output says truncated).' }),
    retry: retryOverrideSchema.optional(),
  })
  .superRefine((config, ctx) => {
    if (config.body !== undefined && (config.method === 'GET' || config.method === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['body'], message: `${config.method} requests take no body` });
    }
  });

const isJsonContentType = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType.trim());

/** Deepest JSON answer kept parsed; a deeper one stays text (as deep as webhook bodies may be). */
const MAX_PARSED_DEPTH = 128;

/** True when `value` nests no deeper than `max` and holds no string Postgres cannot store. */
const isStorableTree = (value: JsonValue, max: number): boolean => {
  const stack: { v: JsonValue; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (!isStorableString(v)) return false;
    } else if (v !== null && typeof v === 'object') {
      if (depth >= max) return false;
      for (const [key, item] of Array.isArray(v) ? v.entries() : Object.entries(v)) {
        if (typeof key === 'string' && !isStorableString(key)) return false;
        stack.push({ v: item, depth: depth + 1 });
      }
    }
  }
  return true;
};

const parseBody = (response: HttpResponse): JsonValue => {
  // A cut-off JSON document cannot parse; keep it as text.
  if (response.truncated || response.bodyEncoding !== 'utf8' || !isJsonContentType(response.headers['content-type'])) {
    return response.body;
  }
  try {
    const parsed: JsonValue = JSON.parse(response.body);
    // JSON may spell NUL or a lone surrogate as an escape: the text is storable, the parsed value not.
    return isStorableTree(parsed, MAX_PARSED_DEPTH) ? parsed : response.body;
  } catch {
    return response.body;
  }
};

/**
 * Whether retrying can change the answer: server errors, request timeout and rate limiting may
 * pass; other client errors will not. Redirects count as final too: the client does not follow
 * them, so the same redirect would come back on every attempt.
 */
const isRetryableStatus = (status: number): boolean => {
  if (status === 408 || status === 429) return true;
  if (status >= 300 && status < 500) return false;
  return true;
};

/**
 * Calls an HTTP endpoint through the `HttpClient` port (which applies SSRF protection). 2xx
 * continues on `next` with `{ status, headers, body, bodyEncoding, truncated }`, `body` parsed when the response
 * is JSON; anything else fails the step.
 */
export const httpRequestAction = defineAction({
  type: 'http.request',
  category: 'action',
  displayName: 'HTTP request',
  description: 'Sends an HTTP request and continues with the response.',
  config: httpRequestConfigSchema,
  ports: [{ name: NEXT_PORT, required: false }],
  retry: EXTERNAL_CALL_RETRY,
  async run(ctx) {
    const { config } = ctx;
    const url = ctx.render(config.url).trim();
    if (!isHttpUrl(url)) throw fatal('URL is not an absolute http(s) URL after rendering', { url });

    const headers: Record<string, string> = {};
    for (const [name, template] of Object.entries(config.headers)) {
      const value = ctx.render(template);
      if (/[\r\n\0]/.test(value)) throw fatal(`Header '${name}' contains a line break`, { header: name });
      headers[name] = value;
    }

    let body: string | undefined;
    if (typeof config.body === 'string') {
      body = ctx.render(config.body);
    } else if (config.body !== undefined) {
      body = JSON.stringify(ctx.renderJson(config.body));
      const hasContentType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
      if (!hasContentType) headers['content-type'] = 'application/json';
    }

    const response = await ctx.services.http.request({
      method: config.method,
      url,
      headers,
      body,
      timeoutMs: config.timeoutMs,
      maxResponseBytes: config.maxResponseBytes,
      signal: ctx.signal,
      idempotencyKey: ctx.idempotencyKey,
      beforeSend: ctx.beforeSideEffect,
    });

    if (response.status < 200 || response.status >= 300) {
      throw new ActionError(`HTTP ${response.status} from ${new URL(url).host}`, {
        retryable: isRetryableStatus(response.status),
        details: { status: response.status, body: response.body.slice(0, ERROR_BODY_SNIPPET) },
      });
    }
    return {
      kind: 'continue',
      port: NEXT_PORT,
      output: {
        status: response.status,
        headers: { ...response.headers },
        body: parseBody(response),
        bodyEncoding: response.bodyEncoding,
        truncated: response.truncated,
      },
    };
  },
});
