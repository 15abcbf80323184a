import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { processAlive } from './deployment.js';

const run = promisify(execFile);

const VERSION = '15';
const NAME_PREFIX = 'wfb_chaos_';

/** Clusters made by this process, dropped on exit even when a test ends badly. */
const clustersToDrop = new Set<string>();
process.once('exit', () => {
  for (const name of clustersToDrop) dropClusterSync(name);
});

/**
 * A Postgres cluster of a test's own (Debian's `pg_createcluster`), on a free port with trust
 * auth, for tests that restart Postgres: the shared cluster is never touched. {@link drop} stops
 * and deletes it; an exit hook and the next run's orphan sweep do so too.
 */
export class PostgresCluster {
  private constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  /** Any database URL of this cluster. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /**
   * Creates and starts a cluster, or returns the reason it cannot (no `pg_createcluster`, not
   * allowed): a test skips with it.
   */
  static async create(): Promise<PostgresCluster | { unavailable: string }> {
    await dropOrphanClusters();
    const name = `${NAME_PREFIX}${process.pid}_${randomBytes(3).toString('hex')}`;
    const port = await freePort();
    try {
      clustersToDrop.add(name);
      await run('pg_createcluster', [VERSION, name, '-p', String(port), '--', '--auth=trust'], { timeout: 120_000 });
      await run('pg_ctlcluster', [VERSION, name, 'start'], { timeout: 60_000 });
    } catch (err) {
      dropClusterSync(name);
      return { unavailable: `could not create a Postgres ${VERSION} cluster of the test's own: ${(err as Error).message.split('\n')[0]}` };
    }
    const cluster = new PostgresCluster(name, port);
    await cluster.waitUntilAccepting(60_000);
    return cluster;
  }

  /** `pg_ctlcluster restart -m immediate`: every connection drops, no checkpoint, crash recovery on start. Resolves when it accepts connections again. */
  async restartImmediate(): Promise<{ downAt: number; backAt: number }> {
    const downAt = Date.now();
    await run('pg_ctlcluster', [VERSION, this.name, 'restart', '-m', 'immediate'], { timeout: 120_000 });
    await this.waitUntilAccepting(60_000);
    return { downAt, backAt: Date.now() };
  }

  async waitUntilAccepting(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const sql = postgres(this.url, { max: 1, connect_timeout: 2, onnotice: () => {} });
      try {
        await sql`select 1`;
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`cluster ${this.name} does not accept connections: ${(err as Error).message}`);
      } finally {
        await sql.end({ timeout: 1 }).catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async drop(): Promise<void> {
    await run('pg_dropcluster', ['--stop', VERSION, this.name], { timeout: 120_000 }).catch(() => dropClusterSync(this.name));
    clustersToDrop.delete(this.name);
  }
}

function dropClusterSync(name: string): void {
  try {
    execFileSync('pg_dropcluster', ['--stop', VERSION, name], { stdio: 'ignore', timeout: 120_000 });
  } catch {
    // already gone, or never made
  }
}

/** Drops clusters left by runs whose process is gone. */
async function dropOrphanClusters(): Promise<void> {
  let listing: string;
  try {
    listing = (await run('pg_lsclusters', ['-h'])).stdout;
  } catch {
    return;
  }
  for (const line of listing.split('\n')) {
    const [version, name] = line.trim().split(/\s+/);
    const pid = Number(new RegExp(`^${NAME_PREFIX}(\\d+)_`).exec(name ?? '')?.[1]);
    if (version === VERSION && pid && !processAlive(pid)) dropClusterSync(name!);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
