import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterEach, describe, expect, test } from 'vitest';
import { openDatabase, type Database } from '../../src/persistence/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/persistence/embedded-postgres.js';
import { testDatabaseUrl } from '../support/test-server.js';

const url = testDatabaseUrl();
const root = fileURLToPath(new URL('../../', import.meta.url));
const journal = JSON.parse(readFileSync(join(root, 'drizzle/meta/_journal.json'), 'utf8')) as { entries: unknown[] };

const withDatabase = (base: string, name: string): string => {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
};

describe('migrations on real Postgres', () => {
  test.skipIf(!url)(
    'two processes starting at once on a fresh database both succeed and apply each migration once (needs DATABASE_URL)',
    async () => {
      const name = `wfb_mig_${randomBytes(6).toString('hex')}`;
      const admin = postgres(withDatabase(url!, 'postgres'), { max: 1, onnotice: () => {} });
      const opened: Database[] = [];
      await admin`create database ${admin(name)}`;
      try {
        const dbUrl = withDatabase(url!, name);
        const results = await Promise.allSettled([
          openDatabase({ url: dbUrl, dataDir: 'unused', poolSize: 2 }),
          openDatabase({ url: dbUrl, dataDir: 'unused', poolSize: 2 }),
        ]);
        for (const r of results) if (r.status === 'fulfilled') opened.push(r.value);
        expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);

        const [a, b] = opened;
        const [applied] = await a!.sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
        expect(journal.entries.length).toBeGreaterThan(0);
        expect(applied?.n).toBe(journal.entries.length);
        // Both connections see the schema the migrations made.
        for (const db of [a!, b!]) {
          const [found] = await db.sql<{ table: string | null }[]>`select to_regclass('public.workflows')::text as table`;
          expect(found?.table).toBe('workflows');
        }

        // Opening again later finds nothing to do.
        const again = await openDatabase({ url: dbUrl, dataDir: 'unused', poolSize: 1 });
        opened.push(again);
        const [reapplied] = await again.sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
        expect(reapplied?.n).toBe(journal.entries.length);
      } finally {
        await Promise.all(opened.map((db) => db.close()));
        await admin`drop database if exists ${admin(name)} with (force)`;
        await admin.end({ timeout: 5 });
      }
      const check = postgres(withDatabase(url!, 'postgres'), { max: 1, onnotice: () => {} });
      try {
        const rows = await check`select 1 from pg_database where datname = ${name}`;
        expect(rows).toHaveLength(0);
      } finally {
        await check.end({ timeout: 5 });
      }
    },
    60_000,
  );
});

// ---------------------------------------------------------------------------------------------
// The embedded database's directory lock. Independent of DATABASE_URL, so it runs either way.

const tsxAvailable = (() => {
  try {
    createRequire(import.meta.url).resolve('tsx');
    return true;
  } catch {
    return false;
  }
})();
const HOLDER = join(root, 'test/integration/helpers/hold-embedded-postgres.ts');

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wfb-lock-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts the holder process on `dir` and resolves once it has the database open. */
function startHolder(dir: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dir], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += String(d);
      if (stdout.includes(`ready ${child.pid}\n`)) resolve({ child, exited });
    });
    void exited.then((code) => reject(new Error(`holder exited with ${code} before it was ready: ${stderr}`)));
  });
}

async function markerPids(db: EmbeddedPostgres): Promise<number[]> {
  const sql = postgres(db.url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    const rows = await sql<{ pid: number }[]>`select pid from holder_marker order by pid`;
    return rows.map((r) => r.pid);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

describe('the embedded database directory', () => {
  test.skipIf(!tsxAvailable)(
    'cannot be opened while another process has it open; the error names that process; it opens once that process stops',
    async () => {
      const dir = tempDataDir();
      const { child, exited } = await startHolder(dir);

      const refused = await startEmbeddedPostgres(dir).then(
        async (db) => {
          await db.stop();
          return undefined;
        },
        (err: unknown) => err as Error,
      );
      expect(refused, 'a second open of a directory in use must fail').toBeInstanceOf(Error);
      expect(refused!.message).toContain(`in use by process ${child.pid}`);
      expect(refused!.message).toContain(dir);
      // The refusal left the owner's lock in place.
      expect(child.exitCode).toBeNull();
      expect(existsSync(join(dir, 'server.lock'))).toBe(true);
      expect(readFileSync(join(dir, 'server.lock'), 'utf8')).toBe(String(child.pid));

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(join(dir, 'server.lock'))).toBe(false);

      const db = await startEmbeddedPostgres(dir);
      cleanup.push(() => db.stop());
      // Same directory, same data: the row the holder wrote is there.
      expect(await markerPids(db)).toEqual([child.pid]);
    },
    60_000,
  );

  test.skipIf(!tsxAvailable)(
    'a lock left by a process that died is taken over',
    async () => {
      const dir = tempDataDir();
      const { child, exited } = await startHolder(dir);
      child.kill('SIGKILL');
      await exited;
      expect(readFileSync(join(dir, 'server.lock'), 'utf8')).toBe(String(child.pid));

      const db = await startEmbeddedPostgres(dir);
      cleanup.push(() => db.stop());
      expect(readFileSync(join(dir, 'server.lock'), 'utf8')).toBe(String(process.pid));
      expect(await markerPids(db)).toEqual([child.pid]);
    },
    60_000,
  );

  test('can be opened again in the same process after it is stopped', async () => {
    const dir = tempDataDir();
    const first = await startEmbeddedPostgres(dir);
    await first.stop();
    expect(existsSync(join(dir, 'server.lock'))).toBe(false);
    const second = await startEmbeddedPostgres(dir);
    cleanup.push(() => second.stop());
    expect(readFileSync(join(dir, 'server.lock'), 'utf8')).toBe(String(process.pid));
  });

  // Regression: a lock holding this process's own pid used to be taken for stale, so a second
  // open in the same process succeeded and two PGlite instances shared one directory.
  test('cannot be opened twice by the same process at once; the error names this process', async () => {
    const dir = tempDataDir();
    const first = await startEmbeddedPostgres(dir);
    cleanup.push(() => first.stop());
    let second: EmbeddedPostgres | undefined;
    try {
      second = await startEmbeddedPostgres(dir);
    } catch (err) {
      expect((err as Error).message).toContain(`in use by process ${process.pid}`);
      return;
    } finally {
      if (second) await second.stop();
    }
    expect.fail('a second open of the same directory by the same process succeeded');
  });
});
