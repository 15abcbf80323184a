import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

/**
 * Serves one PGlite database over the Postgres wire protocol to many client connections.
 *
 * Why not `@electric-sql/pglite-socket`'s server: it interleaves clients message by message, and
 * PGlite has a single backend session, so two clients' extended-protocol sequences
 * (Parse/Bind/Execute/Sync) mix and destroy each other's unnamed statements and portals — we saw
 * `34000 invalid_cursor_name` as soon as two pooled connections ran queries at once.
 * Here a client holds the session for a whole turn: from its first message until a Sync or simple
 * Query has been answered with the session outside a transaction. Transactions therefore run
 * exclusively, as they would appear to under serializable isolation.
 */
export interface PgliteWireServer {
  /** `host:port` the server listens on. */
  readonly address: string;
  stop(): Promise<void>;
}

const SSL_REQUEST_CODE = 80877103;
const GSSENC_REQUEST_CODE = 80877104;
const CANCEL_REQUEST_CODE = 80877102;
const PROTOCOL_V3 = 196608;
const MSG_SYNC = 0x53; // 'S'
const MSG_QUERY = 0x51; // 'Q'
const MSG_TERMINATE = 0x58; // 'X'

/** A FIFO lock: the holder of the session's turn. */
class Turnstile {
  private tail: Promise<void> = Promise.resolve();
  holder: number | undefined;

  acquire(id: number): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.tail.then(() => {
      this.holder = id;
      return () => {
        this.holder = undefined;
        release();
      };
    });
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

export async function startPgliteWireServer(db: PGlite, host = '127.0.0.1'): Promise<PgliteWireServer> {
  const turnstile = new Turnstile();
  const sockets = new Set<Socket>();
  let nextId = 1;

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // Responses go out in several writes; without this, Nagle and delayed ACKs add ~40 ms per round trip.
    socket.setNoDelay(true);
    const id = nextId++;
    let buffer = Buffer.alloc(0);
    let startupDone = false;
    let release: (() => void) | undefined;
    let chain: Promise<void> = Promise.resolve();
    let closed = false;

    // PGlite hands out views of its own memory, which it reuses for the next chunk; a socket that
    // cannot take a chunk at once keeps the view, not the bytes, so each chunk is copied.
    const write = (data: Uint8Array) => {
      if (!closed && socket.writable && data.length > 0) socket.write(Buffer.from(data));
    };

    const runMessage = async (message: Buffer, endsTurn: boolean) => {
      if (!release) release = await turnstile.acquire(id);
      await db.execProtocolRawStream(new Uint8Array(message), { onRawData: write });
      if (endsTurn && !db.isInTransaction()) {
        release();
        release = undefined;
      }
    };

    const onClose = async () => {
      if (closed) return;
      closed = true;
      sockets.delete(socket);
      await chain.catch(() => {});
      if (release) {
        // The client vanished mid-turn: leave the shared session clean for the next one.
        if (db.isInTransaction()) await db.exec('ROLLBACK').catch(() => {});
        release();
        release = undefined;
      }
    };

    const takeMessages = () => {
      for (;;) {
        if (!startupDone) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          const code = buffer.readInt32BE(4);
          if (buffer.length < length) return;
          const message = buffer.subarray(0, length);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
            write(Buffer.from('N'));
          } else if (code === CANCEL_REQUEST_CODE) {
            socket.end();
            return;
          } else if (code === PROTOCOL_V3) {
            startupDone = true;
            const copy = Buffer.from(message);
            chain = chain.then(() => runMessage(copy, true));
          } else {
            socket.destroy();
            return;
          }
          continue;
        }
        if (buffer.length < 5) return;
        const length = 1 + buffer.readInt32BE(1);
        if (buffer.length < length) return;
        const message = Buffer.from(buffer.subarray(0, length));
        buffer = buffer.subarray(length);
        const type = message[0];
        if (type === MSG_TERMINATE) {
          socket.end();
          return;
        }
        const endsTurn = type === MSG_SYNC || type === MSG_QUERY;
        chain = chain.then(() => runMessage(message, endsTurn));
      }
    };

    socket.on('data', (data) => {
      buffer = buffer.length === 0 ? data : Buffer.concat([buffer, data]);
      takeMessages();
      chain = chain.catch(() => {
        socket.destroy();
      });
    });
    socket.on('close', () => void onClose());
    socket.on('error', () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('PGlite wire server has no TCP address');

  return {
    address: `${host}:${addr.port}`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
