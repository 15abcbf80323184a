import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../src/persistence/embedded-postgres.js';
import type { PostgresJobRepository } from '@agendajs/postgres-backend';
import { AgendaStepScheduler, type AgendaStepSchedulerOptions } from '../../../src/scheduler/agenda-step-scheduler.js';
import { openPostgresJobStore } from '../../../src/scheduler/postgres-job-store.js';
import { describeStepSchedulerContract } from './step-scheduler.contract.js';
import { testLogger, uniqueStoreName } from './scheduler-test-support.js';

/** Real Postgres when configured (LISTEN/NOTIFY); otherwise the embedded database, which cannot LISTEN. */
const realUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;
const logger = testLogger();
const tableName = uniqueStoreName('agenda_test');
const createdTables = new Set<string>([tableName]);

let embedded: EmbeddedPostgres | undefined;
let embeddedDir: string | undefined;

const databaseUrl = (): string => {
  const url = realUrl ?? embedded?.url;
  if (!url) throw new Error('no database: the embedded one did not start');
  return url;
};

const schedulerOptions = (table: string): AgendaStepSchedulerOptions => ({
  backend: 'postgres',
  postgresUrl: databaseUrl(),
  notifications: realUrl ? 'backend' : 'in-memory',
  logger,
  tableName: table,
  stopTimeoutMs: 5_000,
});

beforeAll(async () => {
  if (realUrl) return;
  embeddedDir = mkdtempSync(join(tmpdir(), 'wfb-scheduler-'));
  embedded = await startEmbeddedPostgres(embeddedDir);
});

afterAll(async () => {
  if (embedded || realUrl) {
    await withSql(async (sql) => {
      for (const table of createdTables) {
        await sql.unsafe(
          `DROP TABLE IF EXISTS "${table}" CASCADE; DROP TABLE IF EXISTS "${table}_logs"; ` +
            `DROP FUNCTION IF EXISTS update_${table}_updated_at()`,
        );
      }
    });
  }
  await embedded?.stop();
  if (embeddedDir) rmSync(embeddedDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

async function withSql<T>(body: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(databaseUrl(), { max: 1, prepare: false, onnotice: () => {} });
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const make = async () => {
  const scheduler = new AgendaStepScheduler(schedulerOptions(tableName));
  return { scheduler, cleanup: () => scheduler.stop() };
};

describeStepSchedulerContract(
  realUrl ? 'Agenda on Postgres with LISTEN/NOTIFY' : 'Agenda on the embedded database with in-memory notifications',
  make,
  make,
);

describe('Agenda on Postgres: the job table', () => {
  it('is created once when several processes start on a new database at the same time', async () => {
    const table = uniqueStoreName('agenda_race');
    createdTables.add(table);
    const schedulers = Array.from({ length: 4 }, () => new AgendaStepScheduler(schedulerOptions(table)));
    try {
      // The backend's own CREATE TABLE IF NOT EXISTS fails for all but one when run concurrently.
      await Promise.all(schedulers.map((scheduler) => scheduler.enqueue('same-step-run')));
      const rows = await withSql((sql) => sql.unsafe(`select count(*)::int as n from "${table}"`));
      expect(rows[0]?.n).toBe(1);
    } finally {
      await Promise.all(schedulers.map((scheduler) => scheduler.stop()));
    }
  });

  it('removes finished jobs, so the table does not grow', async () => {
    const table = uniqueStoreName('agenda_clean');
    createdTables.add(table);
    const scheduler = new AgendaStepScheduler(schedulerOptions(table));
    const done = new Set<string>();
    try {
      await scheduler.startWorker(async (id) => {
        done.add(id);
        if (id === 'fails') throw new Error('step failed');
      });
      const ids = ['a', 'b', 'c', 'fails'];
      await Promise.all(ids.map((id) => scheduler.enqueue(id)));
      await waitFor(() => done.size === ids.length);
      await scheduler.stop();
      const rows = await withSql((sql) => sql.unsafe(`select count(*)::int as n from "${table}"`));
      expect(rows[0]?.n).toBe(0);
    } finally {
      await scheduler.stop();
    }
  });

  it('keeps the lock of a handler that runs longer than the lock lifetime', async () => {
    const table = uniqueStoreName('agenda_long');
    createdTables.add(table);
    const options = { ...schedulerOptions(table), lockLifetimeMs: 1_000, processEveryMs: 200 };
    const workers = [new AgendaStepScheduler(options), new AgendaStepScheduler(options)];
    let deliveries = 0;
    let markers = 0;
    let finished = false;
    try {
      for (const worker of workers) {
        await worker.startWorker(async (stepRunId) => {
          if (stepRunId === 'marker') {
            markers += 1;
            return;
          }
          deliveries += 1;
          // Running past the lock lifetime is the thing under test.
          await sleep(3_000);
          finished = true;
        });
      }
      await workers[0]?.enqueue('long-step');
      await waitFor(() => finished);
      // A second delivery would be due before a marker enqueued now: once it is delivered, the count is final.
      await workers[0]?.enqueue('marker', new Date(Date.now() + 50));
      await waitFor(() => markers >= 1);
      expect(deliveries).toBe(1);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
  });

  it('takes over the job of a worker that died while running it', async () => {
    const table = uniqueStoreName('agenda_dead');
    createdTables.add(table);
    const options = { ...schedulerOptions(table), lockLifetimeMs: 1_000, processEveryMs: 200 };
    const producer = new AgendaStepScheduler(options);
    await producer.enqueue('orphaned-step');
    await producer.stop();
    // What a worker that died mid-run leaves: locked, started, no next run.
    await withSql((sql) =>
      sql.unsafe(
        `update "${table}" set locked_at = now() - interval '1 minute', last_run_at = now() - interval '1 minute', ` +
          `next_run_at = null`,
      ),
    );
    const worker = new AgendaStepScheduler(options);
    const delivered: string[] = [];
    try {
      await worker.startWorker(async (id) => {
        delivered.push(id);
      });
      await waitFor(() => delivered.length > 0);
      expect(delivered).toEqual(['orphaned-step']);
    } finally {
      await worker.stop();
    }
  });

  it('rejects a table name the backend cannot use safely', () => {
    expect(() => new AgendaStepScheduler({ ...schedulerOptions('x'), tableName: 'Jobs"; drop table x; --' })).toThrow(
      /table name/,
    );
  });
});

describe('Agenda on Postgres: commits of the job store', () => {
  const settingOf = async (asyncCommits: boolean): Promise<string> => {
    const store = await openPostgresJobStore({ url: databaseUrl(), tableName, listen: false, asyncCommits, onPoolError: () => {} });
    try {
      const pool = (store.repository as PostgresJobRepository).getPool();
      const { rows } = await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
      return rows[0]!.synchronous_commit;
    } finally {
      await store.close();
    }
  };

  // Only against real Postgres: the embedded database runs every connection in one session.
  it.skipIf(!realUrl)('do not wait for the WAL flush when asked (job rows are re-creatable), and do by default', async () => {
    expect(await settingOf(true)).toBe('off');
    expect(await settingOf(false)).toBe('on');
  });
});
