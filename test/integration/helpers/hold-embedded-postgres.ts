/**
 * Run as a separate process by migrations.test.ts: opens the embedded database in the directory
 * given as argv[2], writes a marker row, prints `ready <pid>`, and holds the database until it
 * gets SIGTERM, when it stops cleanly and exits 0.
 */
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../../../src/persistence/embedded-postgres.js';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: hold-embedded-postgres.ts DATA_DIR');
  const embedded = await startEmbeddedPostgres(dir);
  const sql = postgres(embedded.url, { max: 1, prepare: false, onnotice: () => {} });
  await sql`create table if not exists holder_marker (pid integer not null)`;
  await sql`insert into holder_marker (pid) values (${process.pid})`;
  await sql.end({ timeout: 5 });
  process.once('SIGTERM', () => {
    embedded.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
  process.stdout.write(`ready ${process.pid}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
