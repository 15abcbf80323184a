import { PostgresBackend, PostgresJobRepository, PostgresNotificationChannel } from '@agendajs/postgres-backend';
import postgres from 'postgres';
import { errorCode, type JobStore } from './job-store.js';
import { STEP_JOB_NAME } from './step-job.js';

export interface OpenPostgresJobStoreOptions {
  readonly url: string;
  readonly tableName: string;
  /** LISTEN/NOTIFY across processes; off for the embedded database, which cannot LISTEN. */
  readonly listen: boolean;
  /** `synchronous_commit = off` on the store's connections (see AgendaStepSchedulerOptions.asyncJobCommits). */
  readonly asyncCommits: boolean;
  readonly onPoolError: (error: Error) => void;
}

/**
 * The backend derives index, trigger and function names from the table name and quotes only
 * some of them, so the name must be a plain lower-case identifier with room for those suffixes.
 */
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,39}$/;

/** Returns `tableName` if the Postgres backend can use it safely; throws otherwise. */
export function checkTableName(tableName: string): string {
  if (!TABLE_NAME.test(tableName)) {
    throw new Error(`Scheduler table name must match ${TABLE_NAME.source}; got "${tableName}"`);
  }
  return tableName;
}

/** The slice of pg's Pool used here (pg ships no type declarations in this project). */
interface PgPoolEvents {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Connects Agenda's Postgres backend to the app's database and makes sure its table exists.
 *
 * The backend's own schema setup (CREATE TABLE/INDEX IF NOT EXISTS, CREATE OR REPLACE FUNCTION,
 * DROP/CREATE TRIGGER) is not safe to run from two processes at once: concurrent CREATE TABLE IF
 * NOT EXISTS fails with a duplicate key on pg_type. So it runs under a session advisory lock, and
 * processes starting together take turns.
 */
export async function openPostgresJobStore(options: OpenPostgresJobStoreOptions): Promise<JobStore> {
  const tableName = checkTableName(options.tableName);
  const backend = new PostgresBackend({
    // Job rows are not the source of truth: the engine's tables are, and a job lost in a database
    // crash is enqueued again by the sweep (a job run twice is run once). So with asyncCommits the
    // scheduler's writes do not wait for their WAL flush; the engine's own commits still do.
    poolConfig: { connectionString: options.url, ...(options.asyncCommits ? { options: '-c synchronous_commit=off' } : {}) },
    tableName,
    // Agenda's job log is off, but the backend creates its table on connect anyway; keep it beside ours.
    logTableName: `${tableName}_logs`,
    // The channel below is built here so that it shares the pool whose errors we handle.
    disableNotifications: true,
  });
  const repository = backend.repository;
  if (!(repository instanceof PostgresJobRepository)) throw new Error('unexpected Postgres job repository');

  const pool: PgPoolEvents = repository.getPool();
  // pg emits 'error' when an idle pooled connection dies (e.g. a server restart); unhandled, it
  // would crash the process.
  pool.on('error', options.onPoolError);

  try {
    await withSchemaLock(options.url, tableName, async (sql) => {
      await backend.connect();
      // One job per step run, even when two processes enqueue the same id at once: the backend's
      // unique() upsert is a select followed by an insert, so without this both would insert.
      await sql.unsafe(
        `CREATE UNIQUE INDEX IF NOT EXISTS "${tableName}_step_run_uq" ON "${tableName}" ((data->>'stepRunId')) ` +
          `WHERE name = '${STEP_JOB_NAME}'`,
      );
    });
  } catch (err) {
    await backend.disconnect().catch(() => {});
    throw err;
  }

  let remoteChannel: PostgresNotificationChannel | undefined;
  if (options.listen) {
    remoteChannel = new PostgresNotificationChannel({ channelName: tableName });
    remoteChannel.setPool(repository.getPool());
  }

  const removeSql = `DELETE FROM "${tableName}" WHERE id = $1 AND last_modified_by = $2`;
  return {
    name: backend.name,
    repository,
    remoteChannel,
    isUpsertRace: (error) => errorCode(error) === '23505' || error instanceof TypeError,
    removeIfNotRescheduled: async (id, owner) => {
      const result = await repository.getPool().query(removeSql, [id, owner]);
      return result.rowCount === 1;
    },
    close: () => backend.disconnect(),
  };
}

async function withSchemaLock(
  url: string,
  tableName: string,
  body: (sql: postgres.Sql) => Promise<void>,
): Promise<void> {
  // prepare: false because the embedded database multiplexes clients onto one session.
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  const key = `agenda-schema:${tableName}`;
  try {
    await sql`select pg_advisory_lock(hashtext(${key}))`;
    try {
      await body(sql);
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${key}))`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
