import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * Writes a `next` message of one subscription whose payload is already JSON (UTF-8): resolves
 * once the socket has drained when it is backed up, otherwise returns nothing.
 */
export type NextWriter = (payload: Buffer) => Promise<void> | undefined;

/** What graphql-ws's hooks see as `ctx.extra` on this transport. */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  /** A writer of `next` messages for subscription `id` on this socket (see NextWriter). */
  readonly nextWriter: (id: string) => NextWriter;
  /** The client's address, read when the socket connected (see GraphQLWsTransport.clientAddress). */
  readonly clientAddress: string;
}

/** Where and how graphql-ws is served. */
export interface GraphQLWsTransport {
  readonly wss: WebSocketServer;
  readonly logger: Logger;
  /**
   * The client address of an upgrade request (proxies considered). Read once, on connection: a
   * socket that is cut early no longer has a peer address to read.
   */
  readonly clientAddress?: (request: IncomingMessage) => string;
}

/**
 * A socket with this much unsent data makes its sender wait for the data to drain before the
 * next message: the subscriber's own stream then backs up, and is ended as too slow, while the
 * others go on.
 */
const HIGH_WATER_BYTES = 1 << 20;
const KEEP_ALIVE_MS = 12_000;
const MESSAGE_END = Buffer.from('}');

/**
 * The start of an unmasked, unfragmented text frame (RFC 6455 §5.2: FIN and opcode, then the
 * payload length in 7, 16 or 64 bits) whose payload is `head`, then `rest` more bytes.
 */
export function textFrameStart(head: Buffer, rest: number): Buffer {
  const length = head.length + rest;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + lengthBytes + head.length);
  frame[0] = 0x81;
  if (lengthBytes === 0) frame[1] = length;
  else if (lengthBytes === 2) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  head.copy(frame, 2 + lengthBytes);
  return frame;
}

/**
 * graphql-ws on a `ws` server, as graphql-ws's own `useServer` does it (protocol negotiation,
 * keep-alive pings, closing on errors), with differences that matter when one event goes to a
 * thousand sockets: `send` does not wait for the kernel to accept each message unless the socket
 * is backed up; the messages of one tick go out to a socket in one write; and `ctx.extra.nextWriter`
 * writes a subscription's `next` message around a payload that is already encoded, so that a
 * result shared by every subscriber is serialized once, not once per socket (see subscribeShared).
 */
export function serveGraphQLWs<P extends Record<string, unknown>>(
  options: ServerOptions<P, WsExtra>,
  { wss, logger, clientAddress = (request) => request.socket.remoteAddress ?? 'unknown' }: GraphQLWsTransport,
): { dispose(): Promise<void> } {
  const server = makeServer<P, WsExtra>(options);
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (err) => {
    logger.error({ err }, 'websocket server error');
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });

  wss.on('connection', (socket, request) => {
    const address = clientAddress(request);
    // Messages sent to this socket in the same tick (the events of one batch to a per-event
    // subscriber) leave in one write: the underlying TCP socket is corked until the next tick.
    const raw = request.socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      raw.uncork();
    };
    const corkForThisTick = () => {
      if (corked) return;
      corked = true;
      raw.cork();
      process.nextTick(uncork);
    };
    // Every message goes through here: nothing once the socket is closing; the sender waits for
    // the write (its callback) only when the socket is backed up.
    type Write = (done?: (err?: Error | null) => void) => void;
    const sendNow = (write: Write): Promise<void> | undefined => {
      if (socket.readyState !== socket.OPEN) return;
      corkForThisTick();
      if (socket.bufferedAmount < HIGH_WATER_BYTES) return void write();
      return new Promise<void>((resolve, reject) => write((err) => (err ? reject(err) : resolve())));
    };

    const nextWriter = (id: string): NextWriter => {
      const head = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
      return (payload) =>
        sendNow((done) => {
          // A negotiated extension (none is offered: see startGraphQLWs) would change the framing.
          if (socket.extensions !== '') return socket.send(Buffer.concat([head, payload, MESSAGE_END]), done);
          // The frame is written here rather than by ws, which would need the message in one piece:
          // a copy of the shared payload per socket. ws writes each frame of its own (pings, close)
          // in one synchronous call too, so frames never interleave.
          raw.write(textFrameStart(head, payload.length + MESSAGE_END.length));
          raw.write(payload);
          raw.write(MESSAGE_END, done);
        });
    };

    socket.once('error', (err) => {
      logger.warn({ err }, 'websocket error');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    let pongWait: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, KEEP_ALIVE_MS);

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => sendNow((done) => socket.send(data, done)),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', (message) => {
            cb(String(message)).catch((err: unknown) => {
              logger.error({ err }, 'graphql-ws could not handle a message');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, request, nextWriter, clientAddress: address },
    );
    socket.once('close', (code, reason) => {
      clearTimeout(pongWait);
      clearInterval(ping);
      void closed(code, String(reason));
    });
  });

  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
