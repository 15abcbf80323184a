import WebSocket from 'ws';

/** What one operation sent on a raw socket came back with: its first answer, or the socket's close. */
export type RawOutcome =
  | { readonly type: 'next'; readonly payload: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } }
  | { readonly type: 'error'; readonly payload: readonly { message: string; extensions?: { code?: string } }[] }
  | { readonly type: 'closed'; readonly code: number; readonly reason: string };

/** A graphql-transport-ws socket driven message by message, for tests that need exact control. */
export interface RawGraphQLSocket {
  readonly socket: WebSocket;
  /** True once `connection_ack` arrives; false when the socket closes first. */
  readonly acked: Promise<boolean>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Sends `subscribe` with a fresh id; resolves with that id's first `next`/`error`, or the close. */
  operation(query: string, variables?: Record<string, unknown>): Promise<RawOutcome>;
}

let ids = 0;

/**
 * Opens a socket on the GraphQL URL (http:// is turned into ws://) and sends `connection_init`
 * with `authorization` once it is open. `headers` go on the upgrade request (X-Forwarded-For, say).
 */
export function openRawSocket(
  httpUrl: string,
  options: { authorization?: string; headers?: Record<string, string> } = {},
): RawGraphQLSocket {
  const socket = new WebSocket(httpUrl.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: options.headers });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const waiting = new Map<string, (outcome: RawOutcome) => void>();
  let closedWith: { code: number; reason: string } | undefined;
  void closed.then((c) => {
    closedWith = c;
    for (const resolve of waiting.values()) resolve({ type: 'closed', ...c });
    waiting.clear();
  });
  const acked = new Promise<boolean>((resolve) => {
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; id?: string; payload?: unknown };
      if (message.type === 'connection_ack') resolve(true);
      if ((message.type === 'next' || message.type === 'error') && message.id) {
        const resolveOp = waiting.get(message.id);
        waiting.delete(message.id);
        resolveOp?.({ type: message.type, payload: message.payload } as RawOutcome);
      }
    });
    socket.once('close', () => resolve(false));
  });
  socket.once('open', () => {
    socket.send(JSON.stringify({ type: 'connection_init', payload: options.authorization ? { authorization: options.authorization } : {} }));
  });
  socket.on('error', () => {
    // a refused upgrade or a reset: the close event reports it
  });
  return {
    socket,
    acked,
    closed,
    operation(query, variables) {
      if (closedWith) return Promise.resolve({ type: 'closed', ...closedWith });
      const id = `op${++ids}`;
      const outcome = new Promise<RawOutcome>((resolve) => waiting.set(id, resolve));
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
      return outcome;
    },
  };
}

/** The `extensions.code`s an outcome carries (none for data, the close code for a close). */
export function codesOf(outcome: RawOutcome): string[] {
  if (outcome.type === 'closed') return [`close:${outcome.code}`];
  const errors = outcome.type === 'error' ? outcome.payload : (outcome.payload.errors ?? []);
  return errors.map((e) => e.extensions?.code ?? '?');
}
