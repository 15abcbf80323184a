import { expect } from 'vitest';

/** A GraphQL error as it reaches the client. */
export interface WireError {
  readonly message: string;
  readonly extensions?: Record<string, unknown> & { code?: string };
}

/** A raw HTTP response of the GraphQL endpoint: status, content type and body (JSON when it parses). */
export interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly json?: { data?: unknown; errors?: WireError[] };
}

export async function send(url: string, init: RequestInit = {}): Promise<RawResponse> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: RawResponse['json'];
  try {
    json = JSON.parse(text) as RawResponse['json'];
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

/** POSTs `{ query }` as JSON with the key, as a GraphQL client would. */
export function post(url: string, apiKey: string, query: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, ...headers },
    body: JSON.stringify({ query }),
  });
}

/** The first error's code; fails the test when the response has no error. */
export function firstError(res: RawResponse): WireError {
  const first = res.json?.errors?.[0];
  if (!first) throw new Error(`expected a GraphQL error, got ${res.status}: ${res.text.slice(0, 300)}`);
  return first;
}

/** Nothing a client receives may reveal code, a stack or SQL. */
export function expectNothingInternal(text: string): void {
  expect(text).not.toMatch(/stacktrace/i);
  expect(text).not.toMatch(/\bat (\S+ )?\(?(file:|node:|\/)[^)\s]*:\d+/);
  expect(text).not.toMatch(/\.(ts|js|mjs|cjs):\d+/);
  expect(text).not.toMatch(/\b(select|insert|update|delete)\b[\s\S]*\b(from|into|set)\b/i);
  expect(text).not.toMatch(/<html|<!doctype/i);
}
