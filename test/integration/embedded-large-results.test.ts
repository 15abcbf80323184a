import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/persistence/embedded-postgres.js';

/**
 * The embedded database serves the wire protocol from PGlite's memory. A result bigger than the
 * socket takes at once must reach the client intact, while other connections run queries too.
 */
let dir: string;
let embedded: EmbeddedPostgres;
let sql: postgres.Sql;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wfb-embedded-large-'));
  embedded = await startEmbeddedPostgres(dir);
  sql = postgres(embedded.url, { max: 4, onnotice: () => {} });
});
afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await embedded?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a 30 MB result arrives whole, beside other queries', async () => {
  const big = sql<{ n: number; s: string }[]>`select n, repeat(chr(97 + n % 26), 1000000) as s from generate_series(1, 30) n`;
  const small = Array.from({ length: 10 }, (_, i) => sql<{ v: number }[]>`select ${i}::int as v`);
  const [rows, ...others] = await Promise.all([big, ...small]);
  expect(rows).toHaveLength(30);
  for (const row of rows) expect(row.s).toBe(String.fromCharCode(97 + (row.n % 26)).repeat(1_000_000));
  expect(others.map((r) => r[0]!.v)).toEqual(Array.from({ length: 10 }, (_, i) => i));
});
