import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Tests that use the SDK as an integrator does (the README's TypeScript program, the packed SDK)
 * load its build, src/sdk/dist: `npm install` builds it, and this brings it up to date after an
 * edit of src/sdk or `npm run codegen` (`tsc --build` does nothing when it is current).
 */
async function buildSdk(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '--build', 'src/sdk'], { cwd: root }).catch(
    (err: Error & { stdout?: string }) => {
      throw new Error(`the SDK (src/sdk) does not build:\n${err.stdout ?? err.message}`);
    },
  );
}

/**
 * Tests on real Postgres give each file its own scheduler job table (see test/support/test-server.ts);
 * this drops them when the run ends so the database is left as it was found.
 */
export default async function setup(): Promise<() => Promise<void>> {
  await buildSdk();
  return async () => {
    const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
    if (!url) return;
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const tables = await sql<{ name: string }[]>`
        select tablename as name from pg_tables
        where schemaname = current_schema() and tablename like 'agenda\\_jobs\\_t%'`;
      for (const { name } of tables) await sql.unsafe(`drop table if exists "${name}" cascade`);
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
}
