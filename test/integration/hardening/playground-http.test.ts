import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../../support/test-server.js';
import { send } from './hardening-support.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

let server: TestServer;
let off: TestServer;
beforeAll(async () => {
  [server, off] = await Promise.all([startTestServer(), startTestServer({ env: { GRAPHQL_PLAYGROUND: 'false' } })]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), off?.stop()]);
});

describe('the playground page', () => {
  test('a browser navigating to /graphql gets the GraphiQL page, which loads only from this server', async () => {
    const res = await fetch(server.url, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    const html = await res.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual(['/graphql/playground/playground.css', '/graphql/playground/playground.js']);
    expect(html).not.toMatch(/https?:\/\//);
  });

  test('a browser GET that carries a query is an operation, not the page', async () => {
    const res = await send(`${server.url}?query=${encodeURIComponent('{ workspace { id } }')}`, {
      headers: { accept: BROWSER_ACCEPT, authorization: `Bearer ${server.apiKey}`, 'apollo-require-preflight': 'true' },
    });
    expect(res.json?.data).toMatchObject({ workspace: { id: server.workspaceId } });
  });

  test('its bundle, styles and Monaco workers are served from local files', { timeout: 60_000 }, async () => {
    const script = await fetch(`${server.url}/playground/playground.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    const code = await script.text();
    expect(code.length).toBeGreaterThan(100_000);
    for (const name of ['playground.css', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js']) {
      const res = await fetch(`${server.url}/playground/${name}`);
      expect(res.status, name).toBe(200);
      await res.arrayBuffer();
    }
    const css = await (await fetch(`${server.url}/playground/playground.css`)).text();
    for (const [, url] of css.matchAll(/url\(\s*["']?([^"')]+)/g)) expect(url).not.toMatch(/^(https?:)?\/\//);
  });

  test('unknown or traversing asset names are 404', async () => {
    for (const name of ['nope.js', '..%2Fplayground.router.ts', '%2e%2e%2f%2e%2e%2fpackage.json']) {
      const res = await fetch(`${server.url}/playground/${name}`);
      expect(res.status, name).toBe(404);
      await res.arrayBuffer();
    }
  });

  test('GRAPHQL_PLAYGROUND=false leaves /graphql to GraphQL alone', async () => {
    const res = await send(off.url, { headers: { accept: BROWSER_ACCEPT } });
    expect(res.contentType).not.toMatch(/html/);
    expect(res.text).not.toMatch(/<html/i);
  });

  test("Apollo's CDN landing page is never served", async () => {
    for (const target of [server, off]) {
      const res = await send(target.url, { headers: { accept: BROWSER_ACCEPT } });
      expect(res.text).not.toMatch(/apollographql\.com|embeddable-sandbox|cdn\./i);
    }
  });
});
