import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PgliteThreadMessage } from './pglite-thread.worker.js';

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

/**
 * The thread's module: the compiled `.js` beside this one, or, when this module runs from its
 * TypeScript source (the test suite), the `.ts` loaded through tsx.
 */
function startThread(pgdata: string): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./pglite-thread.worker.js', self), { workerData: { pgdata } });
  const entry = new URL('./pglite-thread.worker.ts', self).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData: { pgdata } });
}

/** The thread's next message; a thread that exits or throws first is an error. */
async function nextMessage(thread: Worker): Promise<PgliteThreadMessage> {
  const exited = once(thread, 'exit').then(([code]) => {
    throw new Error(`The embedded database's thread exited (code ${String(code)})`);
  });
  const [message] = (await Promise.race([once(thread, 'message'), exited])) as [PgliteThreadMessage];
  exited.catch(() => {});
  return message;
}

/**
 * Opens (creating if needed) the PGlite database in `dataDir` and serves it on 127.0.0.1, from a
 * thread of its own: PGlite runs each query synchronously, and on the server's thread a large one
 * (a delivery of a megabyte, a page of big configs) held every other request up while it ran.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const release = acquireDirLock(dir);
  let thread: Worker | undefined;
  try {
    thread = startThread(join(dir, 'pgdata'));
    const started = await nextMessage(thread);
    if (started.type !== 'ready') throw new Error(`The embedded database did not open: ${started.type === 'failed' ? started.message : started.type}`);
    const running = thread;
    return {
      url: `postgres://postgres:postgres@${started.address}/postgres`,
      dataDir: dir,
      async stop() {
        running.postMessage('stop');
        try {
          await nextMessage(running);
        } finally {
          await running.terminate();
          release();
        }
      },
    };
  } catch (err) {
    await thread?.terminate();
    release();
    throw err;
  }
}
