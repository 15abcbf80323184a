import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { defineAction } from '../../../src/actions/action-definition.js';
import { ActionRegistry } from '../../../src/actions/action-registry.js';
import { builtinActions } from '../../../src/actions/builtin-actions.js';
import { NEXT_PORT } from '../../../src/domain/graph.js';
import { createGraphQLHardening } from '../../../src/graphql/hardening/index.js';
import { hardeningOptions } from '../../../src/server/graphql.wiring.js';
import { playgroundEnabled as isPlaygroundEnabled } from '../../../src/server/http.wiring.js';
import { loadConfig } from '../../../src/server/config.js';
import { startTestServer, type TestServer } from '../../support/test-server.js';
import { wsClient } from '../../support/ws-client.js';
import { expectNothingInternal, firstError, post, send, type WireError } from './hardening-support.js';

/** What a failing database driver would put in its message; none of it may reach a client. */
const LEAKY_MESSAGE = 'select "secret_hash" from "api_keys" where "prefix" = $1 -- connection to 10.0.0.7:5432 refused';

/** An action type whose schema blows up, so `actionTypes` fails with an unexpected error. */
const brokenAction = {
  ...defineAction({
    type: 'test.broken',
    category: 'action',
    displayName: 'Broken',
    description: 'Fails whenever its schema is read.',
    config: z.strictObject({}),
    ports: [{ name: NEXT_PORT, required: false }],
    async run() {
      return { kind: 'continue', port: NEXT_PORT, output: {} };
    },
  }),
  jsonSchema(): never {
    throw new Error(LEAKY_MESSAGE);
  },
};

const INTROSPECTION = '{ __schema { queryType { name } } }';

let open: TestServer;
let closed: TestServer;
let production: TestServer;
beforeAll(async () => {
  [open, closed, production] = await Promise.all([
    startTestServer({ registry: new ActionRegistry([...builtinActions, brokenAction]) }),
    startTestServer({ env: { GRAPHQL_INTROSPECTION: 'false' } }),
    startTestServer({ env: { NODE_ENV: 'production' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.stop(), closed?.stop(), production?.stop()]);
});

describe('configuration', () => {
  test('introspection and the playground are on by default outside production, off in production', () => {
    for (const NODE_ENV of ['development', 'test'] as const) {
      const config = loadConfig({ NODE_ENV });
      expect(createGraphQLHardening(hardeningOptions(config)).introspection).toBe(true);
      expect(isPlaygroundEnabled(config)).toBe(true);
    }
    const config = loadConfig({ NODE_ENV: 'production' });
    expect(createGraphQLHardening(hardeningOptions(config)).introspection).toBe(false);
    expect(isPlaygroundEnabled(config)).toBe(false);
    expect(createGraphQLHardening(hardeningOptions(config)).apollo).toMatchObject({
      introspection: false,
      csrfPrevention: true,
      includeStacktraceInErrorResponses: false,
      hideSchemaDetailsFromClientErrors: true,
    });
  });

  test('GRAPHQL_INTROSPECTION and GRAPHQL_PLAYGROUND override the environment default', () => {
    const prod = loadConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', GRAPHQL_PLAYGROUND: 'true' });
    expect(createGraphQLHardening(hardeningOptions(prod)).introspection).toBe(true);
    expect(isPlaygroundEnabled(prod)).toBe(true);
    const dev = loadConfig({ NODE_ENV: 'development', GRAPHQL_INTROSPECTION: 'false', GRAPHQL_PLAYGROUND: 'false' });
    expect(createGraphQLHardening(hardeningOptions(dev)).introspection).toBe(false);
    expect(isPlaygroundEnabled(dev)).toBe(false);
  });

  test('the limits have their documented defaults', () => {
    const config = loadConfig({});
    expect(createGraphQLHardening(hardeningOptions(config)).limits).toMatchObject({ maxDepth: 12, maxAliases: 30 });
    expect(config.GRAPHQL_MAX_BODY_BYTES).toBe(1024 * 1024);
  });
});

describe('introspection', () => {
  test('is answered when on', async () => {
    const res = await post(open.url, open.apiKey, INTROSPECTION);
    expect(res.json?.data).toMatchObject({ __schema: { queryType: { name: 'Query' } } });
  });

  test('is refused over HTTP when GRAPHQL_INTROSPECTION=false', async () => {
    for (const query of [INTROSPECTION, '{ __type(name: "Workflow") { name } }']) {
      const res = await post(closed.url, closed.apiKey, query);
      expect(res.status).toBe(400);
      expect(firstError(res).extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.json?.data).toBeUndefined();
    }
    const ordinary = await post(closed.url, closed.apiKey, '{ workspace { id } }');
    expect(ordinary.json?.data).toMatchObject({ workspace: { id: closed.workspaceId } });
  });

  test('is refused over WebSocket when GRAPHQL_INTROSPECTION=false', async () => {
    const socket = wsClient(closed.url, closed.apiKey);
    try {
      const errors = await new Promise<readonly WireError[] | undefined>((resolve) => {
        socket.subscribe(
          { query: INTROSPECTION },
          { next: () => {}, error: (err) => resolve(Array.isArray(err) ? (err as WireError[]) : undefined), complete: () => resolve(undefined) },
        );
      });
      expect(errors?.[0]?.message).toMatch(/introspection/i);
    } finally {
      await socket.dispose();
    }
  });

  test('field suggestions, which would spell out the schema, are withheld when it is off', async () => {
    const hidden = await post(closed.url, closed.apiKey, '{ workspac { id } }');
    expect(firstError(hidden).extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(firstError(hidden).message).not.toMatch(/Did you mean/);
    const shown = await post(open.url, open.apiKey, '{ workspac { id } }');
    expect(firstError(shown).message).toMatch(/Did you mean "workspace"/);
  });
});

describe('production', () => {
  test('serves neither the playground nor introspection', async () => {
    const page = await send(production.url, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.contentType).not.toMatch(/html/);
    expect(page.text).not.toMatch(/graphiql|<html/i);
    const asset = await send(`${production.url}/playground/playground.js`);
    expect(asset.contentType).not.toMatch(/javascript/);
    const res = await post(production.url, production.apiKey, INTROSPECTION);
    expect(res.status).toBe(400);
    expect(res.json?.data).toBeUndefined();
  });

  test('still answers ordinary operations', async () => {
    const res = await post(production.url, production.apiKey, '{ workspace { id } }');
    expect(res.json?.data).toMatchObject({ workspace: { id: production.workspaceId } });
  });
});

describe('error masking', () => {
  test('an unexpected error reaches the client as "Internal server error", without stack trace or SQL', async () => {
    const res = await post(open.url, open.apiKey, '{ actionTypes { type configSchema } }');
    const error = firstError(res);
    expect(error.message).toBe('Internal server error');
    expect(error.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(res.text).not.toContain('secret_hash');
    expect(res.text).not.toContain('10.0.0.7');
    expectNothingInternal(res.text);
  });

  test('request errors carry no stack trace either', async () => {
    for (const query of ['{ workspace { id }', '{ nope }', '{ workflow(id: true) { id } }']) {
      const res = await post(open.url, open.apiKey, query);
      expect(res.status).toBe(400);
      expect(firstError(res).extensions?.code).toMatch(/^(GRAPHQL_PARSE_FAILED|GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT)$/);
      expectNothingInternal(res.text);
    }
  });

  test('Apollo is configured never to include stack traces', () => {
    expect(createGraphQLHardening(hardeningOptions(loadConfig({ NODE_ENV: 'development' }))).apollo.includeStacktraceInErrorResponses).toBe(false);
  });
});
