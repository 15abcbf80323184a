import postgres from 'postgres';

/**
 * Tests on real Postgres give each file its own scheduler job table (see test/support/test-server.ts);
 * this drops them when the run ends so the database is left as it was found.
 */
export default async function setup(): Promise<() => Promise<void>> {
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
