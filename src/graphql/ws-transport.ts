import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { FormattedExecutionResult } from 'graphql';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';

/** What graphql-ws's hooks see as `ctx.extra` on this transport. */
export interface WsExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
}

/**
 * A socket with this much unsent data makes its sender wait for the data to drain before the
 * next message: the subscriber's own stream then backs up, and is ended as too slow, while the
 * others go on.
 */
const HIGH_WATER_BYTES = 1 << 20;
const KEEP_ALIVE_MS = 12_000;

/**
 * Result objects are shared by every subscriber of a stream (see subscribeShared); their JSON is
 * made once. A `next` message then carries a placeholder payload, which `send` replaces with the
 * cached text, so a thousand subscribers cost one JSON.stringify per result instead of a thousand.
 */
const serialized = new WeakMap<object, string>();
const PLACEHOLDER_KEY = '__wfbSerializedPayload';

interface Placeholder {
  readonly [PLACEHOLDER_KEY]: number;
}

/** Per socket: payload texts waiting for the message that carries their placeholder. */
type PendingPayloads = Map<number, string>;

/** The JSON of a shared result, made on its first use. */
function jsonOf(result: object): string {
  let json = serialized.get(result);
  if (json === undefined) {
    json = JSON.stringify(result);
    serialized.set(result, json);
  }
  return json;
}

const PLACEHOLDER_PREFIX = `{"${PLACEHOLDER_KEY}":`;

/** `data` with its placeholder (if any) replaced by the pending payload text. */
function fillPlaceholder(data: string, pending: PendingPayloads): string {
  const at = data.indexOf(PLACEHOLDER_PREFIX);
  if (at < 0) return data;
  const end = data.indexOf('}', at);
  const token = Number(data.slice(at + PLACEHOLDER_PREFIX.length, end));
  const json = pending.get(token);
  if (json === undefined) return data;
  pending.delete(token);
  return data.slice(0, at) + json + data.slice(end + 1);
}

/**
 * graphql-ws on a `ws` server, as graphql-ws's own `useServer` does it (protocol negotiation,
 * keep-alive pings, closing on errors), with differences that matter when one event goes to a
 * thousand sockets: each shared result is serialized once (see above), `send` does not wait for
 * the kernel to accept each message unless the socket is backed up, and the messages of one tick
 * go out to a socket in one write.
 */
export function serveGraphQLWs<P extends Record<string, unknown>>(
  options: ServerOptions<P, WsExtra>,
  wss: WebSocketServer,
  logger: Logger,
): { dispose(): Promise<void> } {
  const pendingBySocket = new WeakMap<WebSocket, PendingPayloads>();
  let counter = 0;
  const userOnNext = options.onNext;
  const server = makeServer<P, WsExtra>({
    ...options,
    onNext: async (ctx, id, payload, args, result) => {
      const formatted = (await userOnNext?.(ctx, id, payload, args, result)) ?? result;
      const pending = pendingBySocket.get(ctx.extra.socket);
      if (!pending || ('errors' in formatted && formatted.errors?.length)) return formatted as FormattedExecutionResult;
      // A placeholder for the cached JSON, which the socket's `send` puts back. The cast: graphql-ws
      // only checks that a `next` payload is an object before stringifying it.
      const token = ++counter;
      pending.set(token, jsonOf(formatted));
      const placeholder: Placeholder = { [PLACEHOLDER_KEY]: token };
      return placeholder as unknown as FormattedExecutionResult;
    },
  });
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (err) => {
    logger.error({ err }, 'websocket server error');
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });

  wss.on('connection', (socket, request) => {
    const pending: PendingPayloads = new Map();
    // Messages sent to this socket in the same tick (the events of one batch to a per-event
    // subscriber) leave in one write: the underlying TCP socket is corked until the next tick.
    const raw = request.socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      raw.uncork();
    };
    pendingBySocket.set(socket, pending);
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
        send: (data) => {
          if (socket.readyState !== socket.OPEN) return;
          const text = fillPlaceholder(data, pending);
          if (!corked) {
            corked = true;
            raw.cork();
            process.nextTick(uncork);
          }
          if (socket.bufferedAmount < HIGH_WATER_BYTES) {
            socket.send(text);
            return;
          }
          return new Promise<void>((resolve, reject) => socket.send(text, (err) => (err ? reject(err) : resolve())));
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', (message) => {
            cb(String(message)).catch((err: unknown) => {
              logger.error({ err }, 'graphql-ws could not handle a message');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => {
      clearTimeout(pongWait);
      clearInterval(ping);
      pending.clear();
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
