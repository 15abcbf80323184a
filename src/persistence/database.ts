import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres, { type Sql } from 'postgres';
import * as schema from './schema.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';

export type Db = PostgresJsDatabase<typeof schema>;
/** A transaction handle; repositories accept either. */
export type DbOrTx = Db | Parameters<Parameters<Db['transaction']>[0]>[0];

/** The app's connection to Postgres, real or embedded, through one driver code path. */
export interface Database {
  readonly db: Db;
  readonly sql: Sql;
  /**
   * A small pool of its own for the live streams' reads, so that subscribers are not queued
   * behind the engine's writes for a connection of the main pool.
   */
  readonly liveDb: Db;
  /** The URL other clients (Agenda's backend, LISTEN connections) connect to. */
  readonly url: string;
  readonly embedded: boolean;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Real Postgres; when absent an embedded PGlite in `dataDir` is started. */
  readonly url?: string;
  readonly dataDir: string;
  readonly poolSize: number;
}

/** drizzle/ at the package root, found from here whether running from src/ or a build in dist/. */
function migrationsFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'drizzle', 'meta', '_journal.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('drizzle/ migrations folder not found above ' + import.meta.url);
    dir = parent;
  }
  return join(dir, 'drizzle');
}
/**
 * Statements with at most this many parameters run as prepared statements (see preparing): their
 * texts repeat. Bigger ones are bulk inserts whose text changes with the row count; preparing each
 * would grow every connection's statement cache without bound.
 */
const MAX_PREPARED_PARAMETERS = 100;

/**
 * The client drizzle gets on real Postgres. drizzle prepares only queries given a name, and
 * postgres.js runs an unprepared statement that has parameters in two round trips: it asks for
 * the parameter types first, then binds and executes. Prepared, a statement costs one round trip
 * after its first run on a connection; for an edit of a few statements, or a step's transition,
 * the round trips are most of the time. Transactions get the same client.
 */
export function preparing(sql: Sql): Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (query: string, parameters: unknown[] = [], options: Record<string, unknown> = {}) =>
          target.unsafe(query, parameters as never, {
            ...options,
            ...(parameters.length > 0 && parameters.length <= MAX_PREPARED_PARAMETERS ? { prepare: true } : {}),
          });
      }
      if (property === 'begin' || property === 'savepoint') {
        // The transaction's (or savepoint's) own client comes last in the call: it is wrapped too.
        const open = Reflect.get(target, property, receiver) as (...args: unknown[]) => unknown;
        return (...args: unknown[]) => {
          const body = args.pop() as (tx: Sql) => unknown;
          return open(...args, (tx: Sql) => body(preparing(tx)));
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/** Arbitrary constant shared by every process of this app: serialises migrations. */
const MIGRATION_LOCK_KEY = 7_310_442_019;

/** Connects (starting the embedded database when no URL is given) and applies pending migrations. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = options.url;
  if (!url) {
    embedded = await startEmbeddedPostgres(options.dataDir);
    url = embedded.url;
  }
  try {
    await runMigrations(url, Boolean(embedded));
    const pool = (max: number, applicationName: string) =>
      postgres(url, {
        max,
        // Connections multiplexed onto PGlite's one session would collide on prepared statement names.
        prepare: !embedded,
        onnotice: () => {},
        connection: { application_name: applicationName },
      });
    // Connections multiplexed onto PGlite's one session cannot hold prepared statements.
    const forDrizzle = (client: Sql) => drizzle(embedded ? client : preparing(client), { schema });
    const plain = pool(embedded ? 4 : options.poolSize, 'workflow-builder');
    // Raw statements (the engine's commit function) run prepared too.
    const sql = embedded ? plain : preparing(plain);
    const db = forDrizzle(plain);
    const liveSql = pool(2, 'workflow-builder-live');
    return {
      db,
      sql,
      liveDb: forDrizzle(liveSql),
      url,
      embedded: Boolean(embedded),
      async close() {
        await Promise.all([sql.end({ timeout: 5 }), liveSql.end({ timeout: 5 })]);
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

/**
 * Applies drizzle-kit's migrations under a session advisory lock, so processes starting at once
 * take turns and each finds the others' work already recorded.
 */
async function runMigrations(url: string, embedded: boolean): Promise<void> {
  const sql = postgres(url, { max: 1, prepare: !embedded, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migrate(drizzle(sql), { migrationsFolder: migrationsFolder() });
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
