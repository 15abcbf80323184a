import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../../support/test-server.js';
import { expectNothingInternal, firstError, post, send } from './hardening-support.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const auth = () => ({ authorization: `Bearer ${server.apiKey}` });

describe('request body size', () => {
  test('a body over GRAPHQL_MAX_BODY_BYTES (default 1 MiB) is a 413 with a JSON GraphQL error', async () => {
    const padding = 'x'.repeat(1024 * 1024 + 1);
    const res = await send(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify({ query: '{ workspace { id } }', variables: { padding } }),
    });
    expect(res.status).toBe(413);
    expect(res.contentType).toMatch(/^application\/json/);
    expect(firstError(res).extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxBodyBytes', max: 1024 * 1024 });
    expectNothingInternal(res.text);
  });

  test('a body just under the limit is still read', async () => {
    const padding = 'x'.repeat(1024 * 1024 - 200);
    const res = await send(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify({ query: '{ workspace { id } }', variables: { padding } }),
    });
    expect(res.status).toBe(200);
    expect(res.json?.data).toMatchObject({ workspace: { id: server.workspaceId } });
  });

  test('JSON that does not parse is a 400 JSON error, not an HTML page', async () => {
    const res = await send(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth() }, body: '{"query": ' });
    expect(res.status).toBe(400);
    expect(res.contentType).toMatch(/^application\/json/);
    expect(firstError(res).extensions?.code).toBe('BAD_REQUEST');
    expectNothingInternal(res.text);
  });
});

describe('CSRF prevention', () => {
  test('a text/plain POST without a preflight header is refused with 400', async () => {
    const res = await send(server.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...auth() },
      body: JSON.stringify({ query: '{ workspace { id } }' }),
    });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(server.workspaceId);
    expect(res.text).toMatch(/CSRF|preflight/i);
    expectNothingInternal(res.text);
  });

  test('a form-encoded POST is refused too', async () => {
    const res = await send(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() },
      body: 'query=%7B%20workspace%20%7B%20id%20%7D%20%7D',
    });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(server.workspaceId);
  });

  test('a simple GET query without a preflight header is refused', async () => {
    const res = await send(`${server.url}?query=${encodeURIComponent('{ workspace { id } }')}`, { headers: auth() });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(server.workspaceId);
  });
});

describe('the endpoint for non-browser clients', () => {
  test('POST with JSON works', async () => {
    const res = await post(server.url, server.apiKey, '{ workspace { id } }');
    expect(res.status).toBe(200);
    expect(res.json?.data).toMatchObject({ workspace: { id: server.workspaceId } });
  });

  test('GET queries work with apollo-require-preflight or a JSON content type', async () => {
    const url = `${server.url}?query=${encodeURIComponent('{ workspace { id } }')}`;
    const variants: Record<string, string>[] = [{ 'apollo-require-preflight': 'true' }, { 'content-type': 'application/json' }];
    for (const headers of variants) {
      const res = await send(url, { headers: { ...auth(), ...headers } });
      expect(res.status).toBe(200);
      expect(res.json?.data).toMatchObject({ workspace: { id: server.workspaceId } });
    }
  });

  test('a GET that asks for JSON (curl, fetch) is answered by GraphQL, not the playground page', async () => {
    for (const accept of ['*/*', 'application/json', 'application/graphql-response+json']) {
      const res = await send(server.url, { headers: { accept, 'apollo-require-preflight': 'true', ...auth() } });
      expect(res.contentType).not.toMatch(/html/);
      expect(res.status).toBe(400);
      expect(firstError(res).extensions?.code).toBe('BAD_REQUEST');
    }
  });

  test('a subscription sent over HTTP is a 400 pointing to WebSocket, not an internal error', async () => {
    const workflowId = '00000000-0000-4000-8000-000000000000';
    const res = await post(server.url, server.apiKey, `subscription { workflowEdited(workflowId: "${workflowId}") { label } }`);
    expect(res.status).toBe(400);
    const error = firstError(res);
    expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(error.message).toMatch(/WebSocket/);
  });

  test('mutations are refused over GET', async () => {
    const url = `${server.url}?query=${encodeURIComponent('mutation { revokeApiKey(id: "x") { id } }')}`;
    const res = await send(url, { headers: { ...auth(), 'apollo-require-preflight': 'true' } });
    expect(res.status).toBe(405);
  });
});
