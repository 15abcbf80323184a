import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../../src/persistence/database.js';
import { ApiKeyRepository } from '../../../src/persistence/api-key.repository.js';
import { WorkflowRepository } from '../../../src/persistence/workflow.repository.js';
import { testDatabaseUrl } from '../../support/test-server.js';
import { isolatedDatabase } from '../../integration/webhooks/isolated-database.js';

/** What every suite gets around the adapter under test. */
export interface Scoped {
  /** A fresh workspace with one workflow in it, so tests sharing the store never see each other's rows. */
  newScope(): Promise<{ workspaceId: string; workflowId: string }>;
  close(): Promise<void>;
}

/** A store under test: the adapter (`store`), anything more a suite asks for (`T`), and its scopes. */
export type StoreUnderTest<S, T extends object = object> = { readonly store: S } & T & Scoped;

/** Opens one adapter of a store port; a suite calls it once, in `beforeAll`. */
export type MakeStore<S, T extends object = object> = () => Promise<StoreUnderTest<S, T>>;

/** Where the drizzle adapters run: real Postgres when DATABASE_URL is set, else the embedded database. */
export const drizzleWhere = testDatabaseUrl() ? 'drizzle on real Postgres' : 'drizzle on the embedded database';

/**
 * Opens the suite's database for a drizzle repository. Stores whose reads span the deployment
 * (claims, the trigger index, "is there any workspace yet") need `isolated`: on real Postgres the
 * suite then gets a database of its own, which `close` drops; an embedded database is always fresh.
 * Otherwise the shared test database is used, and `close` deletes the workspaces the suite made
 * (they cascade to everything in them).
 */
export function drizzleStore<S, T extends object = object>(
  build: (database: Database, peer: () => Promise<Database>) => ({ store: S } & T) | Promise<{ store: S } & T>,
  options: { isolated?: boolean } = {},
): MakeStore<S, T> {
  return async () => {
    const isolated = options.isolated ? await isolatedDatabase() : undefined;
    const url = isolated ? isolated.env.DATABASE_URL : testDatabaseUrl();
    const dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'wfb-store-contract-'));
    const database = await openDatabase({ url, dataDir: dataDir ?? '', poolSize: 4 });
    const workspaces = new ApiKeyRepository(database.db);
    const workflows = new WorkflowRepository(database.db);
    const made: string[] = [];
    const peers: Database[] = [];
    // A second pool stands for a second process; the embedded database is single-process, so there it is the same one.
    const peer = async (): Promise<Database> => {
      if (!url) return database;
      const other = await openDatabase({ url, dataDir: '', poolSize: 4 });
      peers.push(other);
      return other;
    };
    return {
      ...(await build(database, peer)),
      async newScope() {
        const workspace = await workspaces.createWorkspace({ name: 'store contract' });
        made.push(workspace.id);
        const workflow = await workflows.create({ workspaceId: workspace.id, name: 'store contract', description: '' });
        return { workspaceId: workspace.id, workflowId: workflow.id };
      },
      async close() {
        if (url && !isolated && made.length > 0) await database.sql`delete from workspaces where id in ${database.sql(made)}`;
        await Promise.all(peers.map((p) => p.close()));
        await database.close();
        await isolated?.drop();
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  };
}
