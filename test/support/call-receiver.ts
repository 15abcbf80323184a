import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { socketOwner } from './socket-owner.js';

/** One HTTP call as the receiver saw it. */
export interface ReceivedCall {
  /** 1, 2, 3, ... in the order calls were fully read. Every default answer carries it as `call`. */
  readonly seq: number;
  /** When the whole request had arrived (ms since the epoch). */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** The idempotency header, or null when the call had none. */
  readonly key: string | null;
  /** From the path `/calls/<stepId>/<instanceId>`, so calls count per step even without a key. */
  readonly stepId: string | null;
  readonly instanceId: string | null;
  readonly body: string;
  /** Name of the process that holds the connection's other end, when the receiver knows the processes. */
  readonly sender: string | undefined;
  /** When the answer was written. */
  answeredAt?: number;
  /** When the caller hung up before it got an answer. */
  abortedAt?: number;
}

/** How to answer one call. */
export interface CallAnswer {
  readonly status?: number;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  /** Answer only once this settles (a test holds calls and lets them go). */
  readonly until?: Promise<unknown>;
  readonly delayMs?: number;
}

export type CallResponder = (call: ReceivedCall) => CallAnswer;

/** The path a workflow's http.request steps call: the step id and `{{instance.id}}` in it. */
export const callPath = (stepId: string): string => `/calls/${stepId}/{{instance.id}}`;

/** The key a call must carry: the same for every send of one step of one instance. */
export const expectedKey = (call: Pick<ReceivedCall, 'instanceId' | 'stepId'>): string => `${call.instanceId}:${call.stepId}`;

/**
 * A local HTTP endpoint standing in for a remote system that logs every call: time, method,
 * path, idempotency key, body, and which worker process sent it (see {@link socketOwner}).
 * Answers `200 {"ok":true,"call":<seq>}` unless `respond` says otherwise, so a step's stored
 * output tells which call's answer was committed.
 */
export class CallReceiver {
  readonly calls: ReceivedCall[] = [];
  respond: CallResponder = () => ({});
  /** Processes whose calls are attributed: pid to name. */
  senders: () => ReadonlyMap<number, string> = () => new Map();
  private server: Server | undefined;
  private port = 0;
  private readonly owners = new WeakMap<Socket, string | undefined>();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly keyHeader = 'idempotency-key') {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket: Socket) => {
      const pids = [...this.senders().keys()];
      const pid = socket.remotePort && pids.length ? socketOwner({ clientPort: socket.remotePort, serverPort: this.port, pids }) : undefined;
      this.owners.set(socket, pid === undefined ? undefined : this.senders().get(pid));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('the receiver has no address');
    this.port = address.port;
    return `http://127.0.0.1:${address.port}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Calls not answered yet whose caller is still waiting. */
  open(): ReceivedCall[] {
    return this.calls.filter((c) => c.answeredAt === undefined && c.abortedAt === undefined);
  }

  /** Resolves with the calls once `done(calls)` holds; rejects after `timeoutMs`. */
  async waitFor(done: (calls: readonly ReceivedCall[]) => boolean, options: { timeoutMs: number; what: string }): Promise<ReceivedCall[]> {
    if (done(this.calls)) return this.calls;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done(this.calls)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what} (${this.calls.length} calls received)`));
      }, options.timeoutMs);
      this.waiters.add(check);
    });
    return this.calls;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private changed(): void {
    for (const check of [...this.waiters]) check();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const match = /^\/calls\/([^/?]+)\/([^/?]+)/.exec(path);
      const header = req.headers[this.keyHeader];
      const call: ReceivedCall = {
        seq: this.calls.length + 1,
        at: Date.now(),
        method: req.method ?? '',
        path,
        key: typeof header === 'string' ? header : null,
        stepId: match ? decodeURIComponent(match[1]!) : null,
        instanceId: match ? decodeURIComponent(match[2]!) : null,
        body: Buffer.concat(chunks).toString('utf8'),
        sender: this.owners.get(req.socket),
      };
      this.calls.push(call);
      res.on('close', () => {
        if (call.answeredAt === undefined) {
          call.abortedAt = Date.now();
          this.changed();
        }
      });
      let answer: CallAnswer;
      try {
        answer = this.respond(call);
      } catch (err) {
        answer = { status: 500, body: String(err) };
      }
      this.changed();
      void this.answer(call, res, answer);
    });
  }

  private async answer(call: ReceivedCall, res: ServerResponse, answer: CallAnswer): Promise<void> {
    if (answer.until) await answer.until.catch(() => undefined);
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (call.abortedAt !== undefined || res.destroyed) return;
    const body = answer.body ?? JSON.stringify({ ok: true, call: call.seq });
    res.writeHead(answer.status ?? 200, { 'content-type': answer.contentType ?? 'application/json' });
    call.answeredAt = Date.now();
    res.end(body);
    this.changed();
  }
}

/** A gate a test opens later: `until` of held answers. */
export function gate(): { readonly opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
