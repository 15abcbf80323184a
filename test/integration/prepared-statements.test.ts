import { randomUUID } from 'node:crypto';
import { eq, inArray, sql as raw } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparing } from '../../src/persistence/database.js';
import * as schema from '../../src/persistence/schema.js';
import { workspaces } from '../../src/persistence/tables/workspace.table.js';
import { testDatabaseUrl } from '../support/test-server.js';

const url = testDatabaseUrl();

/**
 * drizzle's statements through `preparing`: prepared on the connection (one round trip each
 * after the first), also inside transactions, except statements with many parameters (bulk
 * inserts, whose text varies with their size). Real Postgres only: the embedded database does
 * not take prepared statements (its connections share one session).
 */
describe.skipIf(!url)('prepared statements on real Postgres', () => {
  let client: Sql;
  let db: ReturnType<typeof drizzle<typeof schema>>;
  const marker = `prepared-test-${randomUUID()}`;

  /** Statements prepared on the pool's only connection whose text mentions `fragment`. */
  const preparedLike = async (fragment: string): Promise<number> => {
    const [row] = await client`select count(*)::int as n from pg_prepared_statements where statement like ${'%' + fragment + '%'}`;
    return row!.n as number;
  };

  beforeAll(() => {
    client = postgres(url!, { max: 1, onnotice: () => {} });
    db = drizzle(preparing(client), { schema });
  });

  afterAll(async () => {
    await client.end({ timeout: 5 });
  });

  it('prepares a parameterized query once and reuses it', async () => {
    for (let i = 0; i < 3; i++) await db.select().from(workspaces).where(eq(workspaces.name, marker));
    expect(await preparedLike('from "workspaces" where "workspaces"."name" = $1')).toBe(1);
  });

  it('prepares statements inside a transaction too', async () => {
    await db.transaction(async (tx) => {
      await tx.execute(raw`select ${marker}::text as in_transaction`);
    });
    expect(await preparedLike('as in_transaction')).toBe(1);
  });

  it('leaves statements with more than 100 parameters unprepared', async () => {
    const names = Array.from({ length: 101 }, (_, i) => `${marker}-${i}`);
    await db.select().from(workspaces).where(inArray(workspaces.name, names));
    expect(await preparedLike('$101')).toBe(0);
    await db.select().from(workspaces).where(inArray(workspaces.name, names.slice(0, 100)));
    expect(await preparedLike('$100)')).toBe(1);
  });
});
