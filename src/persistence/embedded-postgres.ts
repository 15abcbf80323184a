import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { startPgliteWireServer } from './pglite-wire-server.js';

/** An embedded Postgres (PGlite) served on a private loopback port, reached like any other server. */
export interface EmbeddedPostgres {
  /** A postgres:// URL for the `postgres` driver and Agenda's Postgres backend. */
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * PGlite keeps its files in one directory that only one process may open; a second process would
 * corrupt it. A lock file holding the owner's pid turns that into a clear start-up error.
 */
/** Directories this process holds, so a second open here is refused rather than taken for stale. */
const heldHere = new Set<string>();

function acquireDirLock(dir: string): () => void {
  const lockPath = join(dir, 'server.lock');
  if (heldHere.has(dir)) {
    throw new Error(`The embedded database in ${dir} is in use by process ${process.pid} (this process).`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldHere.add(dir);
      return () => {
        heldHere.delete(dir);
        rmSync(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lockPath, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(
          `The embedded database in ${dir} is in use by process ${owner}. ` +
            'Stop it, choose another DATA_DIR, or set DATABASE_URL to share a real Postgres between processes.',
        );
      }
      // A lock of a process that died, or one with our own pid left by an earlier process (pids repeat,
      // e.g. pid 1 in a container) — this process holds no lock on it (checked above).
      rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`Could not lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Opens (creating if needed) the PGlite database in `dataDir` and serves it on 127.0.0.1. */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const release = acquireDirLock(dir);
  try {
    const db = await PGlite.create({ dataDir: join(dir, 'pgdata') });
    const server = await startPgliteWireServer(db);
    return {
      url: `postgres://postgres:postgres@${server.address}/postgres`,
      dataDir: dir,
      async stop() {
        await server.stop();
        await db.close();
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}
