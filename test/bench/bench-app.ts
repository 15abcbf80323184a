import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startApp, type App } from '../../src/server/app.js';
import { loadConfig, type Config } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { dropSchedulerTable, uniqueTableName } from './bench-support.js';

/** What a benchmark runs against: the app in this process and a workspace of its own. */
export interface BenchApp {
  readonly app: App;
  readonly config: Config;
  readonly apiKey: string;
}

/**
 * Starts the app in this process (real Postgres when DATABASE_URL is set, else an embedded
 * database in a temporary directory, with a job table of its own), makes a workspace, runs
 * `body`, and leaves a shared database as it found it: the workspace and the job table go, and
 * the temporary directory too.
 */
export async function withBenchApp<T>(
  options: { readonly label: string; readonly tablePrefix: string; readonly log: (message: string) => void },
  body: (bench: BenchApp) => Promise<T>,
): Promise<T> {
  const url = process.env.DATABASE_URL || undefined;
  const dataDir = url ? undefined : mkdtempSync(join(tmpdir(), `wfb-${options.tablePrefix}-`));
  const schedulerTable = uniqueTableName(options.tablePrefix);
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    BOOTSTRAP_API_KEY: 'false',
    SCHEDULER_TABLE: schedulerTable,
    ...(url ? { DATABASE_URL: url } : { DATA_DIR: dataDir! }),
  });
  try {
    options.log(`starting the app on ${url ? 'real Postgres' : `an embedded database in ${dataDir}`} (jobs in ${schedulerTable})`);
    const app = await startApp({ config, logger: createLogger(config.LOG_LEVEL) });
    try {
      const { workspace, key } = await app.apiKeys.createWorkspace(`${options.label} ${new Date().toISOString()}`);
      try {
        return await body({ app, config, apiKey: key.secret });
      } finally {
        if (!app.database.embedded) {
          await app.database.sql`
            delete from outbound_messages where instance_id in (select id from workflow_instances where workspace_id = ${workspace.id})`;
          await app.database.sql`delete from workspaces where id = ${workspace.id}`;
        }
      }
    } finally {
      await app.stop();
    }
  } finally {
    if (url) {
      // After the app stopped, so that no worker polls the table while it goes.
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await dropSchedulerTable(sql, schedulerTable);
      } finally {
        await sql.end({ timeout: 5 });
      }
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * What autovacuum would have done between two measured parts: VACUUM ANALYZE, when the database
 * runs no autovacuum (ours has it off; the embedded one runs none), so that a part is not slowed
 * by the dead rows of the one before. Whether it ran.
 */
export async function vacuumWithoutAutovacuum(app: App, log: (message: string) => void): Promise<boolean> {
  if (!app.database.embedded) {
    const [setting] = await app.database.sql<{ autovacuum: string }[]>`show autovacuum`;
    if (setting?.autovacuum === 'on') return false;
  }
  log('vacuum analyze (the database runs no autovacuum)');
  await app.database.sql.unsafe('vacuum analyze');
  return true;
}
