import { describe, expect, it } from 'vitest';
import { httpRequestAction } from '../../../src/actions/http-request.action.js';
import type { HttpResponse } from '../../../src/ports/http-client.port.js';
import { FakeHttpClient, makeContext, makeKit, runStep } from './action-test-kit.js';

const respond = (response: Partial<HttpResponse>) =>
  new FakeHttpClient(() => ({ status: 200, headers: {}, body: '', bodyEncoding: 'utf8' as const, truncated: false, ...response }));

describe('http.request', () => {
  it('renders url, headers and a JSON body and sends them', async () => {
    const http = respond({ status: 201, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"id":7}' });
    const kit = makeKit({ http });
    const result = await runStep(
      httpRequestAction,
      {
        method: 'POST',
        url: 'https://api.example.com/users/{{ trigger.userId }}',
        headers: { Authorization: 'Bearer {{ trigger.token }}' },
        body: { name: '{{ trigger.name }}', tags: ['{{ trigger.tag }}'], n: 1 },
        timeoutMs: 5000,
      },
      { kit, context: makeContext({ userId: 42, token: 't0k', name: 'Ann', tag: 'vip' }) },
    );
    expect(http.requests).toHaveLength(1);
    const [request] = http.requests;
    expect(request).toMatchObject({
      method: 'POST',
      url: 'https://api.example.com/users/42',
      headers: { Authorization: 'Bearer t0k', 'content-type': 'application/json' },
      timeoutMs: 5000,
      maxResponseBytes: 1024 * 1024,
      // The same for every attempt of this step of this run: the client sends it as Idempotency-Key.
      idempotencyKey: 'inst-1:step1',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({ name: 'Ann', tags: ['vip'], n: 1 });
    expect(request?.signal).toBeInstanceOf(AbortSignal);
    expect(result).toEqual({
      kind: 'continue',
      port: 'next',
      output: {
        status: 201,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: { id: 7 },
        bodyEncoding: 'utf8',
        truncated: false,
      },
    });
  });

  it('sends a string body as is and keeps a given content type', async () => {
    const http = respond({});
    await runStep(
      httpRequestAction,
      { method: 'PUT', url: 'https://x.test', headers: { 'Content-Type': 'text/plain' }, body: 'hi {{ trigger.n }}' },
      { kit: makeKit({ http }), context: makeContext({ n: 1 }) },
    );
    expect(http.requests[0]).toMatchObject({ body: 'hi 1', headers: { 'Content-Type': 'text/plain' } });
  });

  it.each<[string, Partial<HttpResponse>, unknown]>([
    ['text body', { headers: { 'content-type': 'text/html' }, body: '<p>x</p>' }, '<p>x</p>'],
    ['vendor json', { headers: { 'content-type': 'application/vnd.api+json' }, body: '[1]' }, [1]],
    ['broken json', { headers: { 'content-type': 'application/json' }, body: '{"a":' }, '{"a":'],
    ['truncated json', { headers: { 'content-type': 'application/json' }, body: '{"a":1}', truncated: true }, '{"a":1}'],
  ])('output body: %s', async (_name, response, body) => {
    const result = await runStep(httpRequestAction, { url: 'https://x.test' }, { kit: makeKit({ http: respond(response) }) });
    expect(result).toMatchObject({ kind: 'continue', output: { body } });
  });

  it.each<[number, boolean]>([
    [500, true],
    [502, true],
    [503, true],
    [408, true],
    [429, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [422, false],
    [301, false],
  ])('status %i fails the step, retryable=%s', async (status, retryable) => {
    const run = runStep(httpRequestAction, { url: 'https://x.test/a' }, { kit: makeKit({ http: respond({ status, body: 'nope' }) }) });
    await expect(run).rejects.toMatchObject({
      name: 'ActionError',
      retryable,
      message: `HTTP ${status} from x.test`,
      details: { status, body: 'nope' },
    });
  });

  it('treats a transport failure as retryable and a blocked target as final', async () => {
    const timeout = new FakeHttpClient(() => Promise.reject(new Error('timeout')));
    await expect(runStep(httpRequestAction, { url: 'https://x.test' }, { kit: makeKit({ http: timeout }) })).rejects.toMatchObject({
      retryable: true,
    });
    const blocked = new FakeHttpClient(() =>
      Promise.reject(Object.assign(new Error('address not allowed'), { retryable: false, code: 'BLOCKED_ADDRESS' })),
    );
    await expect(runStep(httpRequestAction, { url: 'https://x.test' }, { kit: makeKit({ http: blocked }) })).rejects.toMatchObject({
      retryable: false,
      details: { code: 'BLOCKED_ADDRESS' },
    });
  });

  it('refuses a URL that renders to something other than http(s)', async () => {
    const http = respond({});
    const run = runStep(httpRequestAction, { url: '{{ trigger.url }}' }, { kit: makeKit({ http }), context: makeContext({ url: 'file:///etc/passwd' }) });
    await expect(run).rejects.toMatchObject({ retryable: false });
    expect(http.requests).toEqual([]);
  });

  it('refuses header values with line breaks', async () => {
    const http = respond({});
    const run = runStep(
      httpRequestAction,
      { url: 'https://x.test', headers: { 'x-a': '{{ trigger.v }}' } },
      { kit: makeKit({ http }), context: makeContext({ v: 'a\r\nX-Injected: 1' }) },
    );
    await expect(run).rejects.toMatchObject({ retryable: false });
    expect(http.requests).toEqual([]);
  });
});
