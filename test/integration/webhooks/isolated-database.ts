import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { testDatabaseUrl } from '../../support/test-server.js';

/**
 * A database of its own for a test file. Inbound messages start matching workflows of every
 * workspace, so on the shared test database they would start other files' workflows; here they
 * see only this file's. On real Postgres a fresh database is created (and dropped by `drop`);
 * embedded servers already get a fresh data directory each.
 */
export async function isolatedDatabase(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const base = testDatabaseUrl();
  if (!base) return { env: {}, drop: async () => {} };
  const name = `wfb_inbound_${randomBytes(6).toString('hex')}`;
  const admin = postgres(withDatabase(base, 'postgres'), { max: 1, onnotice: () => {} });
  await admin`create database ${admin(name)}`;
  return {
    env: { DATABASE_URL: withDatabase(base, name) },
    async drop() {
      try {
        await admin`drop database if exists ${admin(name)} with (force)`;
      } finally {
        await admin.end({ timeout: 5 });
      }
    },
  };
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
