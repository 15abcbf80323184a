import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { startPgliteWireServer } from './pglite-wire-server.js';

/**
 * The embedded database's thread (see embedded-postgres.ts): opens PGlite on `workerData.pgdata`,
 * serves it on a loopback port, tells its parent `{ type: 'ready', address }` (or `failed`), and
 * on `'stop'` closes both and says `stopped`. PGlite computes every query synchronously (WASM), so
 * on the server's own thread a large query held up every request for as long as it ran.
 */
export type PgliteThreadMessage =
  | { readonly type: 'ready'; readonly address: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stopped' };

const port = parentPort!;
const tell = (message: PgliteThreadMessage) => port.postMessage(message);

try {
  const { pgdata } = workerData as { pgdata: string };
  const db = await PGlite.create({ dataDir: pgdata });
  const server = await startPgliteWireServer(db);
  port.once('message', () => {
    void (async () => {
      await server.stop();
      await db.close();
      tell({ type: 'stopped' });
      port.close();
    })();
  });
  tell({ type: 'ready', address: server.address });
} catch (err) {
  tell({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  port.close();
}
