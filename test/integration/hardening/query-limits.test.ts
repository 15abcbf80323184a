import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../../support/test-server.js';
import { wsClient } from '../../support/ws-client.js';
import { expectNothingInternal, firstError, post, type WireError } from './hardening-support.js';

let server: TestServer;
/** The same server with small limits, to reach them with operations the schema allows. */
let tight: TestServer;
beforeAll(async () => {
  [server, tight] = await Promise.all([
    startTestServer(),
    startTestServer({
      env: {
        GRAPHQL_MAX_DEPTH: '5',
        GRAPHQL_MAX_COST: '100',
        GRAPHQL_MAX_ALIASES: '2',
        GRAPHQL_MAX_DIRECTIVES: '2',
        GRAPHQL_MAX_TOKENS: '100',
        MAX_SUBSCRIPTIONS_PER_SOCKET: '2',
        GRAPHQL_MAX_BODY_BYTES: '4096',
      },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), tight?.stop()]);
});

const query = (s: TestServer, document: string) => post(s.url, s.apiKey, document);

/** `{ workspace { ... on Workspace { ... { id } } } }` nested `levels` deep: valid, only deep. */
const nestedWorkspace = (levels: number): string =>
  `{ workspace { ${'... on Workspace { '.repeat(levels)}id${' }'.repeat(levels)} } }`;

function expectLimit(error: WireError, limit: string, max: number): void {
  expect(error.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit, max });
  expect(error.message).not.toMatch(/^Syntax Error/);
}

describe('operations within the limits', () => {
  test('an ordinary query runs', async () => {
    const res = await query(server, '{ actionTypes { type displayName outputPorts { name } } workspace { id name } }');
    expect(res.status).toBe(200);
    expect(res.json?.errors).toBeUndefined();
    expect(JSON.stringify(res.json?.data)).toContain('trigger.manual');
  });

  test('introspection is not counted toward depth or cost', async () => {
    const res = await query(tight, '{ __schema { types { name fields { name type { name ofType { name } } } } } }');
    expect(res.json?.errors).toBeUndefined();
  });
});

describe('depth', () => {
  test('a query nested past GRAPHQL_MAX_DEPTH (default 12) is refused with LIMIT_EXCEEDED, before anything runs', async () => {
    const ok = await query(server, nestedWorkspace(10));
    expect(ok.json?.errors).toBeUndefined();
    const res = await query(server, nestedWorkspace(40));
    expect(res.status).toBe(400);
    expectLimit(firstError(res), 'maxDepth', 12);
    expect(res.json?.data).toBeUndefined();
    expectNothingInternal(res.text);
  });

  test('the configured depth applies to fields too', async () => {
    const res = await query(tight, '{ workflows { edges { node { steps { edges { node { id } } } } } } }');
    expect(res.status).toBe(400);
    expectLimit(firstError(res), 'maxDepth', 5);
  });
});

describe('aliases', () => {
  test('1,000 aliases are refused with LIMIT_EXCEEDED (default 30)', async () => {
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: actionTypes { type }`).join(' ');
    const started = Date.now();
    const res = await query(server, `{ ${aliases} }`);
    expect(res.status).toBe(400);
    expectLimit(firstError(res), 'maxAliases', 30);
    expect(res.json?.data).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test('aliases inside fragments count', async () => {
    const res = await query(tight, '{ ...F } fragment F on Query { a: workspace { id } b: workspace { id } c: workspace { id } }');
    expectLimit(firstError(res), 'maxAliases', 2);
  });
});

describe('cost', () => {
  test('a literal page size multiplies the cost past GRAPHQL_MAX_COST', async () => {
    const cheap = await query(tight, '{ workflows(first: 1) { edges { node { id } } } }');
    expect(cheap.json?.errors).toBeUndefined();
    const res = await query(tight, '{ workflows(first: 500) { edges { node { id name } } } }');
    expect(res.status).toBe(400);
    expectLimit(firstError(res), 'maxCost', 100);
  });
});

describe('directives', () => {
  test('more directives than GRAPHQL_MAX_DIRECTIVES are refused', async () => {
    const res = await query(tight, '{ workspace { id @include(if: true) name @include(if: true) n: name @skip(if: false) } }');
    expectLimit(firstError(res), 'maxDirectives', 2);
  });
});

describe('tokens', () => {
  test('a document past GRAPHQL_MAX_TOKENS is refused while parsing', async () => {
    const res = await query(tight, `{ ${'__typename '.repeat(200)} }`);
    expect(res.status).toBe(400);
    const error = firstError(res);
    expect(error.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(error.message).toMatch(/100 tokens/);
    expectNothingInternal(res.text);
  });
});

describe('fragment cycles', () => {
  test('are refused by validation, cleanly and quickly', async () => {
    const res = await query(
      server,
      '{ workspace { ...A } } fragment A on Workspace { id ...B } fragment B on Workspace { name ...A }',
    );
    expect(res.status).toBe(400);
    const error = firstError(res);
    expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(error.message).toMatch(/Cannot spread fragment "A" within itself/);
    expectNothingInternal(res.text);
  });

  test('a self-spreading fragment is refused too', async () => {
    const res = await query(server, '{ workspace { ...A } } fragment A on Workspace { id ...A }');
    expect(firstError(res).extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('over graphql-ws', () => {
  const sockets = new Set<Client>();
  afterAll(async () => {
    await Promise.all([...sockets].map((s) => s.dispose()));
  });

  /** Runs one operation over a socket (a new one unless given) and returns what ended it. */
  function run(
    s: TestServer,
    document: string,
    socket: Client = wsClient(s.url, s.apiKey),
  ): Promise<{ errors?: readonly WireError[]; closed?: string; data?: unknown }> {
    sockets.add(socket);
    return new Promise((resolve) => {
      let data: unknown;
      socket.subscribe(
        { query: document },
        {
          next: (value) => (data = value.data),
          error: (err: unknown) => {
            if (Array.isArray(err)) resolve({ errors: err as WireError[] });
            else {
              const close = err as { code?: number; reason?: string };
              resolve({ closed: `${close.code ?? '?'} ${close.reason ?? ''}` });
            }
          },
          complete: () => resolve({ data }),
        },
      );
    });
  }

  test('the same limits apply to operations over WebSocket', async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: workspace { id }`).join(' ');
    const result = await run(server, `{ ${aliases} }`);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxAliases', max: 30 });
    const deep = await run(server, nestedWorkspace(40));
    expect(deep.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxDepth' });
  });

  test('a document past the token limit is refused over WebSocket, and the socket stays open', async () => {
    const socket = wsClient(tight.url, tight.apiKey);
    const result = await run(tight, `{ ${'__typename '.repeat(200)} }`, socket);
    expect(result.closed).toBeUndefined();
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/100 tokens/);
    const after = await run(tight, '{ workspace { id } }', socket);
    expect(after.data).toMatchObject({ workspace: { id: tight.workspaceId } });
  });

  test('a message over GRAPHQL_MAX_BODY_BYTES closes the socket (1009, message too big)', async () => {
    const result = await new Promise<{ closed?: number }>((resolve) => {
      const socket = wsClient(tight.url, tight.apiKey);
      sockets.add(socket);
      socket.subscribe(
        { query: '{ workspace { id } }', variables: { padding: 'x'.repeat(8192) } },
        { next: () => {}, error: (err) => resolve({ closed: (err as { code?: number }).code }), complete: () => resolve({}) },
      );
    });
    expect(result.closed).toBe(1009);
  });

  test('validation errors over WebSocket carry the same code as over HTTP', async () => {
    const result = await run(server, '{ workspace { ...A } } fragment A on Workspace { id ...A }');
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/Cannot spread fragment "A" within itself/);
  });

  test('refused operations do not use up the socket\'s subscriptions (MAX_SUBSCRIPTIONS_PER_SOCKET)', async () => {
    const socket = wsClient(tight.url, tight.apiKey);
    for (let i = 0; i < 4; i++) {
      const refused = await run(tight, `{ a: workspace { id } b: workspace { id } c: workspace { id } }`, socket);
      expect(refused.errors?.[0]?.extensions?.code).toBe('LIMIT_EXCEEDED');
    }
    const ok = await run(tight, '{ workspace { id } }', socket);
    expect(ok.errors).toBeUndefined();
    expect(ok.data).toMatchObject({ workspace: { id: tight.workspaceId } });
  });

  test('operations within the limits still run over WebSocket', async () => {
    const result = await run(server, '{ workspace { id } }');
    expect(result.errors).toBeUndefined();
    expect(result.data).toMatchObject({ workspace: { id: server.workspaceId } });
  });
});
