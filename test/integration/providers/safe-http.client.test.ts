import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { HttpRequest } from '../../../src/ports/http-client.port.js';
import type { HostResolver } from '../../../src/providers/checked-lookup.js';
import { SafeHttpClient } from '../../../src/providers/safe-http.client.js';
import { startLocalHttpServer, type LocalHttpServer, type ReceivedRequest } from '../../fixtures/local-http-server.js';
import type { ServerResponse } from 'node:http';

let a: LocalHttpServer; // 127.0.0.1
let b: LocalHttpServer; // 127.0.0.1, another port: another origin
let c: LocalHttpServer; // 127.0.0.2: another loopback address

/** Routes of the fake servers; `other` is where cross-origin redirects point. */
function routes(other: () => string) {
  return (req: ReceivedRequest, res: ServerResponse): void => {
    const path = new URL(req.url, 'http://x').pathname;
    const redirect = (status: number, location: string) => {
      res.writeHead(status, { location });
      res.end();
    };
    switch (path) {
      case '/hello':
        res.writeHead(201, { 'X-Custom-Header': 'Yes', 'Content-Type': 'text/plain; charset=utf-8', 'Set-Cookie': ['a=1', 'b=2'] });
        res.end('hello wörld');
        return;
      case '/echo':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, headers: req.headers, body: req.body }));
        return;
      case '/big':
        res.end('x'.repeat(10_000));
        return;
      case '/exact':
        res.end('y'.repeat(100));
        return;
      case '/gzip':
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync('z'.repeat(50_000)));
        return;
      case '/hang':
        return; // never answers
      case '/hang-body':
        res.writeHead(200);
        res.write('partial');
        return; // never finishes
      case '/chain/3':
        return redirect(301, '/chain/2');
      case '/chain/2':
        return redirect(302, '/chain/1');
      case '/chain/1':
        return redirect(307, '/echo');
      case '/see-other':
        return redirect(303, '/echo');
      case '/temporary':
        return redirect(307, '/echo');
      case '/found':
        return redirect(302, '/echo');
      case '/loop':
        return redirect(302, '/loop');
      case '/cross-origin':
        return redirect(302, `${other()}/echo`);
      case '/to-ftp':
        return redirect(302, 'ftp://example.com/file');
      default:
        if (path.startsWith('/to/')) return redirect(302, decodeURIComponent(path.slice('/to/'.length)));
        res.writeHead(404);
        res.end('not found');
    }
  };
}

beforeAll(async () => {
  a = await startLocalHttpServer(routes(() => b.origin));
  b = await startLocalHttpServer(routes(() => a.origin));
  c = await startLocalHttpServer(routes(() => a.origin), '127.0.0.2');
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), c?.close()]);
});
beforeEach(() => {
  for (const server of [a, b, c]) server.received.length = 0;
});

const req = (url: string, overrides: Partial<HttpRequest> = {}): HttpRequest => ({
  method: 'GET',
  url,
  headers: {},
  timeoutMs: 5_000,
  maxResponseBytes: 1024 * 1024,
  ...overrides,
});

const echoed = (body: string) => JSON.parse(body) as { method: string; headers: Record<string, string>; body: string };

describe('SafeHttpClient on private networks (allowPrivateNetworks: true)', () => {
  const client = new SafeHttpClient({ allowPrivateNetworks: true, userAgent: 'wfb-test/1' });

  test('returns status, lower-cased headers and the UTF-8 body', async () => {
    const response = await client.request(req(`${a.origin}/hello`));
    expect(response.status).toBe(201);
    expect(response.headers['x-custom-header']).toBe('Yes');
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.headers['set-cookie']).toBe('a=1, b=2');
    expect(Object.keys(response.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(response.body).toBe('hello wörld');
    expect(response.truncated).toBe(false);
  });

  test('sends method, headers and body; a default User-Agent unless the request sets one', async () => {
    const sent = echoed(
      (await client.request(req(`${a.origin}/echo`, { method: 'POST', headers: { 'X-Trace': 't1', 'Content-Type': 'application/json' }, body: '{"a":1}' }))).body,
    );
    expect(sent).toMatchObject({ method: 'POST', body: '{"a":1}' });
    expect(sent.headers).toMatchObject({ 'x-trace': 't1', 'content-type': 'application/json', 'user-agent': 'wfb-test/1', 'content-length': '7' });
    const own = echoed((await client.request(req(`${a.origin}/echo`, { headers: { 'User-Agent': 'mine' } }))).body);
    expect(own.headers['user-agent']).toBe('mine');
  });

  test('HEAD and 404 resolve like any status', async () => {
    expect(await client.request(req(`${a.origin}/hello`, { method: 'HEAD' }))).toMatchObject({ status: 201, body: '' });
    expect(await client.request(req(`${a.origin}/missing`))).toMatchObject({ status: 404, body: 'not found' });
  });

  test('stops reading at maxResponseBytes and says so', async () => {
    const big = await client.request(req(`${a.origin}/big`, { maxResponseBytes: 100 }));
    expect(big.body).toBe('x'.repeat(100));
    expect(big.truncated).toBe(true);
    const exact = await client.request(req(`${a.origin}/exact`, { maxResponseBytes: 100 }));
    expect(exact).toMatchObject({ body: 'y'.repeat(100), truncated: false });
  });

  test('decodes gzip and applies the limit to the decoded bytes', async () => {
    const response = await client.request(req(`${a.origin}/gzip`, { headers: { 'accept-encoding': 'gzip' }, maxResponseBytes: 1_000 }));
    expect(response.body).toBe('z'.repeat(1_000));
    expect(response.truncated).toBe(true);
  });

  test('the timeout covers the whole exchange: no answer, or a body that never ends', async () => {
    for (const path of ['/hang', '/hang-body']) {
      const started = Date.now();
      await expect(client.request(req(`${a.origin}${path}`, { timeoutMs: 300 }))).rejects.toMatchObject({
        code: 'TIMEOUT',
        retryable: true,
      });
      expect(Date.now() - started).toBeLessThan(2_000);
    }
  });

  test("the caller's signal aborts the exchange", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(client.request(req(`${a.origin}/hang`, { signal: controller.signal }))).rejects.toMatchObject({
      code: 'ABORTED',
      retryable: true,
    });
  });

  test('follows a chain of 301, 302 and 307 redirects', async () => {
    const response = await client.request(req(`${a.origin}/chain/3`));
    expect(response.status).toBe(200);
    expect(echoed(response.body).method).toBe('GET');
    expect(a.received.map((r) => r.url)).toEqual(['/chain/3', '/chain/2', '/chain/1', '/echo']);
  });

  test('303 turns a POST into a GET without body; 307 keeps both; 302 after POST becomes GET', async () => {
    const post = { method: 'POST' as const, headers: { 'content-type': 'text/plain' }, body: 'payload' };
    const seeOther = echoed((await client.request(req(`${a.origin}/see-other`, post))).body);
    expect(seeOther.method).toBe('GET');
    expect(seeOther.body).toBe('');
    expect(seeOther.headers['content-type']).toBeUndefined();
    const temporary = echoed((await client.request(req(`${a.origin}/temporary`, post))).body);
    expect(temporary).toMatchObject({ method: 'POST', body: 'payload' });
    expect(temporary.headers['content-type']).toBe('text/plain');
    const found = echoed((await client.request(req(`${a.origin}/found`, post))).body);
    expect(found).toMatchObject({ method: 'GET', body: '' });
  });

  test('keeps Authorization on the same origin and drops it across origins', async () => {
    const headers = { authorization: 'Bearer s3cret', cookie: 'sid=1', 'x-keep': 'yes' };
    const same = echoed((await client.request(req(`${a.origin}/found`, { headers }))).body);
    expect(same.headers).toMatchObject({ authorization: 'Bearer s3cret', cookie: 'sid=1' });
    const cross = await client.request(req(`${a.origin}/cross-origin`, { headers }));
    expect(b.received).toHaveLength(1);
    const seen = echoed(cross.body).headers;
    expect(seen.authorization).toBeUndefined();
    expect(seen.cookie).toBeUndefined();
    expect(seen['x-keep']).toBe('yes');
  });

  test('the redirect past maxRedirects is returned as the response', async () => {
    const limited = new SafeHttpClient({ allowPrivateNetworks: true, maxRedirects: 2 });
    const response = await limited.request(req(`${a.origin}/loop`));
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('/loop');
    expect(a.received).toHaveLength(3);
  });

  test('a redirect to another scheme is refused', async () => {
    await expect(client.request(req(`${a.origin}/to-ftp`))).rejects.toMatchObject({ code: 'UNSUPPORTED_URL', retryable: false });
  });

  test('metadata and link-local stay refused on private networks', async () => {
    await expect(client.request(req('http://169.254.169.254/latest/meta-data/'))).rejects.toMatchObject({ code: 'BLOCKED_ADDRESS' });
    await expect(client.request(req(`${a.origin}/to/${encodeURIComponent('http://169.254.169.254/')}`))).rejects.toMatchObject({
      code: 'BLOCKED_ADDRESS',
    });
  });

  test('connection refused is a retryable network error', async () => {
    const gone = await startLocalHttpServer();
    await gone.close();
    await expect(client.request(req(`${gone.origin}/`))).rejects.toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
  });
});

describe('SafeHttpClient re-checks every redirect hop', () => {
  test('allowed 127.0.0.1 redirecting to 127.0.0.2 is refused; the second server is never contacted', async () => {
    const client = new SafeHttpClient({ allowPrivateNetworks: false, allowedHosts: ['127.0.0.1'] });
    const target = encodeURIComponent(`${c.origin}/echo`);
    expect((await client.request(req(`${a.origin}/echo`))).status).toBe(200);
    await expect(client.request(req(`${a.origin}/to/${target}`))).rejects.toMatchObject({ code: 'BLOCKED_ADDRESS', retryable: false });
    expect(c.received).toHaveLength(0);

    // Control: the same hop goes through once its address is allowed, so the refusal above is the policy's.
    const wider = new SafeHttpClient({ allowPrivateNetworks: false, allowedHosts: ['127.0.0.0/8'] });
    expect((await wider.request(req(`${a.origin}/to/${target}`))).status).toBe(200);
    expect(c.received).toHaveLength(1);
  });

  test('a trusted name redirecting to a name that resolves to loopback is refused after resolution', async () => {
    const asked: string[] = [];
    const resolve: HostResolver = async (host) => {
      asked.push(host);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const client = new SafeHttpClient({ allowPrivateNetworks: false, allowedHosts: ['allowed.test'], resolve });
    const target = encodeURIComponent(`http://other.test:${a.port}/echo`);
    await expect(client.request(req(`http://allowed.test:${a.port}/to/${target}`))).rejects.toMatchObject({
      code: 'BLOCKED_ADDRESS',
    });
    expect(a.received.map((r) => r.url)).toEqual([`/to/${target}`]);
    expect(asked).toEqual(['allowed.test', 'other.test']);
  });

  test('connects to the address it checked, resolving once, with the Host header of the name', async () => {
    const asked: string[] = [];
    let answer = '127.0.0.1';
    const resolve: HostResolver = async (host) => {
      asked.push(host);
      const address = answer;
      answer = '10.0.0.1'; // a rebinding resolver: any second lookup would get an internal address
      return [{ address, family: 4 }];
    };
    const client = new SafeHttpClient({ allowPrivateNetworks: false, allowedHosts: ['127.0.0.1'], resolve });
    const response = await client.request(req(`http://svc.test:${a.port}/echo`));
    expect(response.status).toBe(200);
    expect(echoed(response.body).headers.host).toBe(`svc.test:${a.port}`);
    expect(asked).toEqual(['svc.test']);
  });

  test('one refused address among several refuses the name', async () => {
    const resolve: HostResolver = async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ];
    const client = new SafeHttpClient({ allowPrivateNetworks: false, allowedHosts: ['127.0.0.1'], resolve });
    await expect(client.request(req(`http://multi.test:${a.port}/echo`))).rejects.toMatchObject({ code: 'BLOCKED_ADDRESS' });
    expect(a.received).toHaveLength(0);
  });
});
