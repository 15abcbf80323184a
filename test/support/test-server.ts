import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print, type ExecutionResult } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { ActionRegistry } from '../../src/actions/action-registry.js';
import type { Clock } from '../../src/ports/clock.port.js';
import type { MessagingVendor } from '../../src/providers/messaging-vendor.js';
import { startApp, type App } from '../../src/server/app.js';
import { loadConfig, type Config } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';

/**
 * The database the suite runs on: TEST_DATABASE_URL (or DATABASE_URL) for real Postgres,
 * otherwise an embedded PGlite in a temporary directory, the path a user with nothing installed takes.
 */
export const testDatabaseUrl = (): string | undefined =>
  process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;

/**
 * Each test file gets its own job table: servers of parallel files share the database, and a
 * worker of one file must not run another file's steps with its own settings.
 */
export const schedulerTable = `agenda_jobs_t${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

export interface TestServer {
  readonly app: App;
  readonly url: string;
  readonly config: Config;
  /** A key of a fresh workspace made for this server's tests. */
  readonly apiKey: string;
  readonly workspaceId: string;
  /** A client authenticated with `apiKey`. */
  readonly client: GraphQLClient;
  /** Makes another workspace with its own key (for isolation tests). */
  newWorkspace(name?: string): Promise<{ client: GraphQLClient; apiKey: string; workspaceId: string }>;
  /** Stops the server; `keepData` leaves the embedded data dir for a restart test. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface StartTestServerOptions {
  readonly env?: Record<string, string>;
  readonly registry?: ActionRegistry;
  /** The messaging vendors (default: the built-in ones); their settings are read from `env`. */
  readonly vendors?: readonly MessagingVendor[];
  /** Reuse an embedded data dir (restart tests); ignored on real Postgres. */
  readonly dataDir?: string;
  /** The time schedule triggers are computed with (see AppOptions.scheduleClock). */
  readonly scheduleClock?: Clock;
}

export async function startTestServer(options: StartTestServerOptions = {}): Promise<TestServer> {
  const url = testDatabaseUrl();
  const dataDir = options.dataDir ?? (url ? undefined : mkdtempSync(join(tmpdir(), 'wfb-test-')));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    BOOTSTRAP_API_KEY: 'false',
    NODE_ENV: 'test',
    SCHEDULER_TABLE: schedulerTable,
    // Servers of parallel test files share one database but not their job tables, and a sweep
    // recovers any step of the database: one file's sweep would take another's steps and run
    // them with its own settings (another HTTP policy, say). Tests that need the sweep set it.
    SWEEP_INTERVAL_MS: '600000',
    ...(url ? { DATABASE_URL: url } : { DATA_DIR: dataDir! }),
    ...options.env,
  }, { vendors: options.vendors });
  const app = await startApp({ config, logger: createLogger(config.LOG_LEVEL), registry: options.registry, scheduleClock: options.scheduleClock });
  const newWorkspace = async (name = 'test workspace') => {
    const { workspace, key } = await app.apiKeys.createWorkspace(name);
    return { client: new GraphQLClient(app.url, key.secret), apiKey: key.secret, workspaceId: workspace.id };
  };
  const main = await newWorkspace();
  return {
    app,
    url: app.url,
    config,
    apiKey: main.apiKey,
    workspaceId: main.workspaceId,
    client: main.client,
    newWorkspace,
    async stop(stopOptions = {}) {
      await app.stop();
      if (dataDir && !options.dataDir && !stopOptions.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A GraphQL error as the client receives it. */
export interface ClientError {
  readonly message: string;
  readonly extensions?: Record<string, unknown> & { code?: string };
  readonly path?: readonly (string | number)[];
}

/** Thrown by `GraphQLClient.request` when the response carries errors. */
export class GraphQLRequestError extends Error {
  constructor(readonly errors: readonly ClientError[], readonly status: number) {
    super(errors.map((e) => `${e.extensions?.code ?? '?'}: ${e.message}`).join('; '));
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

/** A minimal typed GraphQL-over-HTTP client for the tests. */
export class GraphQLClient {
  constructor(
    readonly url: string,
    readonly apiKey?: string,
  ) {}

  /** The raw response: status and body. */
  async raw(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as ExecutionResult & { errors?: ClientError[] };
    return { status: res.status, body };
  }

  /** Runs a typed document; throws GraphQLRequestError when the response has errors. */
  async request<R, V extends Record<string, unknown>>(
    document: TypedDocumentNode<R, V> | string,
    ...[variables]: V extends Record<string, never> ? [] | [V] : [V]
  ): Promise<R> {
    const query = typeof document === 'string' ? document : print(document);
    const { status, body } = await this.raw(query, variables);
    if (body.errors?.length) throw new GraphQLRequestError(body.errors, status);
    return body.data as R;
  }

  /** Runs a document that must fail; returns its first error. */
  async expectError<R, V extends Record<string, unknown>>(
    document: TypedDocumentNode<R, V> | string,
    variables?: V,
  ): Promise<ClientError & { status: number }> {
    const query = typeof document === 'string' ? document : print(document);
    const { status, body } = await this.raw(query, variables);
    const first = body.errors?.[0];
    if (!first) throw new Error(`expected an error, got data ${JSON.stringify(body.data)}`);
    return { ...first, status };
  }
}
