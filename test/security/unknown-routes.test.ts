import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Every route and method this server does not serve answers with the JSON error body of the HTTP
 * endpoints, never Express's HTML page (which also named the path back in markup).
 */
let server: TestServer;
let origin: string;
beforeAll(async () => {
  server = await startTestServer();
  origin = new URL(server.url).origin;
});
afterAll(async () => {
  await server?.stop();
});

async function expectJsonError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type'), text).toMatch(/^application\/json/);
  expect(JSON.parse(text)).toEqual({ error: { code, message: expect.any(String) } });
}

describe('unknown routes and methods', () => {
  test.each([
    ['POST', '//hooks/whk_0123456789abcdef'],
    ['GET', '/nothing-here'],
    ['DELETE', '/'],
    ['POST', '/hooks'],
    ['GET', '/inbound'],
    ['PUT', '/healthz'],
    ['POST', '/inbound/meta/extra'],
    ['POST', '/events/00000000-0000-4000-8000-000000000000/extra'],
  ])('%s %s is a JSON 404 NOT_FOUND', async (method, path) => {
    await expectJsonError(await fetch(`${origin}${path}`, { method }), 404, 'NOT_FOUND');
  });

  test.each([
    ['GET', '/inbound/twilio', 'POST'],
    ['PUT', '/inbound/meta', 'GET, POST'],
    ['DELETE', '/inbound/twilio', 'POST'],
    ['GET', '/events', 'POST'],
    ['PUT', '/events/00000000-0000-4000-8000-000000000000', 'POST'],
    ['GET', '/events/not-a-workspace', 'POST'],
  ])('%s %s is a JSON 405 METHOD_NOT_ALLOWED naming the allowed methods', async (method, path, allow) => {
    const res = await fetch(`${origin}${path}`, { method });
    expect(res.headers.get('allow')).toBe(allow);
    await expectJsonError(res, 405, 'METHOD_NOT_ALLOWED');
  });

  test.each(['/hooks/%E0%A4%A', '/events/%E0%A4%A'])('a path that cannot be decoded (POST %s) is a JSON 400 BAD_REQUEST', async (path) => {
    await expectJsonError(await fetch(`${origin}${path}`, { method: 'POST' }), 400, 'BAD_REQUEST');
  });
});
