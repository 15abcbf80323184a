import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, Server } from 'node:http';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  print,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, ErrorCode, limitExceeded } from '../domain/errors.js';
import type { ApiKeyService, Actor } from '../services/api-key.service.js';
import { prepareOperation } from './hardening/operation.prepare.js';
import type { OperationCheck } from './hardening/operation-guard.plugin.js';
import { fitsResponse, responseTooLarge } from './hardening/response-budget.js';
import type { LargeValues } from './common/large-values.loader.js';
import type { GraphQLContext } from './context.js';
import { formatGraphQLError, toGraphQLError, type ErrorFormatter } from './error-mapping.js';
import type { SubscriptionSources } from './subscription/subscription-sources.js';
import { serveGraphQLWs, type NextWriter } from './ws-transport.js';

export interface GraphQLWsOptions {
  readonly httpServer: Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly apiKeys: ApiKeyService;
  readonly live: SubscriptionSources;
  readonly logger: Logger;
  readonly formatError: ErrorFormatter;
  /** A socket that has not sent `connection_init` with a valid key by then is closed. */
  readonly authTimeoutMs: number;
  readonly maxSubscriptionsPerSocket: number;
  readonly maxSocketsPerKey: number;
  /** Rules run after graphql-js's own on every operation (query limits, introspection); see graphql/hardening. */
  readonly validationRules?: readonly ValidationRule[];
  /** Parser options (the token limit); a document that does not parse is answered GRAPHQL_PARSE_FAILED. */
  readonly parseOptions?: ParseOptions;
  /** Largest message accepted; a larger one closes the socket with 1009. `ws` allows 100 MiB otherwise. */
  readonly maxPayloadBytes?: number;
  /**
   * Key checks of new sockets that may query the database at once; the others wait their turn,
   * and a socket that closes meanwhile is never checked.
   */
  readonly keyCheckConcurrency: number;
  /** The client address of an upgrade request; failed key attempts are counted per address. */
  readonly clientAddress?: (request: IncomingMessage) => string;
  /**
   * How often the keys of open sockets are checked again, in case a revocation's notification
   * was lost on its way from another process.
   */
  readonly keyRecheckMs: number;
  /** Run on every valid operation with its variables (cost, input rule); a refusal is sent as the operation's error. */
  readonly operationCheck?: OperationCheck;
  /** The large values (and response budget) of one execution; see GraphQLContext.largeValues. */
  readonly newLargeValues: () => LargeValues;
}

interface SocketState {
  /** Set once the key check passed and the socket took its slot. */
  actor?: Actor;
  subscriptions: number;
  /** The socket closed or is closing: it takes no slot and runs nothing more. */
  closed: boolean;
}

/**
 * Close codes of our own, in the 4000-4999 range the WebSocket spec leaves to applications
 * (graphql-ws's own: 4400, 4401, 4403 for a refused `connection_init`, 4406, 4408, 4409, 4429).
 */
export const WsCloseCode = {
  /** The socket's API key was revoked (the code graphql-ws closes with for a wrong key). */
  KeyRevoked: 4403,
  TooManySockets: 4429,
  /** Too many failed key attempts from the client's address; the reason says when to retry. */
  RateLimited: 4430,
} as const;

/** What a revocation waits for at most: mutations already running on the key's sockets. */
const REVOCATION_DRAIN_MS = 5_000;
/** Key ids per query of the periodic re-check. */
const RECHECK_BATCH = 1_000;
/** Revoked key ids remembered, so that a key check that raced its revocation cannot open a socket. */
const REMEMBERED_REVOCATIONS = 10_000;

/** The running graphql-ws server. */
export interface GraphQLWsServer {
  /**
   * Closes every open socket of the key (4403) and refuses anything more on them. Resolves once
   * the mutations already running on them have finished (at most REVOCATION_DRAIN_MS), so that a
   * revocation that waits for it is acknowledged after them; the operation calling it, if it runs
   * on one of those sockets, is not waited for.
   */
  closeSocketsOfKey(apiKeyId: string): Promise<void>;
  close(): Promise<void>;
}

function keyFrom(params: Readonly<Record<string, unknown>> | undefined, headers: Record<string, string | string[] | undefined>): string | undefined {
  const fromParams = params?.authorization ?? params?.Authorization ?? params?.apiKey;
  if (typeof fromParams === 'string') return fromParams.startsWith('Bearer ') ? fromParams : `Bearer ${fromParams}`;
  const header = headers.authorization;
  return typeof header === 'string' ? header : undefined;
}

/** An execution of a subscription's selection for one event, and whether its answer fits the response budget. */
interface Outcome {
  readonly result: ExecutionResult;
  readonly fits: boolean;
}

/** Outcomes per source payload and per (workspace, document, variables). */
const cache = new WeakMap<object, Map<string, Promise<Outcome>>>();
/** The JSON (UTF-8) of a shared result, made once for every socket it goes to. */
const encoded = new WeakMap<ExecutionResult, Buffer>();

function bytesOf(result: ExecutionResult): Buffer {
  let bytes = encoded.get(result);
  if (!bytes) encoded.set(result, (bytes = Buffer.from(JSON.stringify(result))));
  return bytes;
}

/** Per subscription (its GraphQL context object): the writer of its `next` messages. */
const writers = new WeakMap<object, NextWriter>();

/** The error sent instead of an answer that would not fit. */
const tooLargeError = (maxBytes: number): GraphQLError => toGraphQLError(responseTooLarge(maxBytes));

/**
 * Executes a subscription's selection once per (source event, document, variables, workspace):
 * a workflow stream hands the same payload object to every live subscriber, so a thousand
 * dashboards watching one workflow cost one execution and one serialization per event, not a
 * thousand. Each event's execution has a response budget of its own; an answer over it is sent as
 * one LIMIT_EXCEEDED error, and the subscription goes on. A result without errors is written to the
 * socket here, as the shared bytes; only results with errors reach graphql-ws (whose `onNext`
 * formats them). The stream is an iterator rather than a generator so that `complete` from the
 * client ends it at once, even while it waits.
 */
async function subscribeShared(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in Object(source))) return source as ExecutionResult;
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const context = args.contextValue as GraphQLContext;
  const write = writers.get(context);
  const key = [context.actor.workspaceId, print(args.document), args.operationName ?? '', JSON.stringify(args.variableValues ?? {})].join('\u0000');
  const executeFor = async (payload: unknown): Promise<Outcome> => {
    const largeValues = context.largeValues.renew();
    const result = await execute({ ...args, contextValue: { ...context, largeValues }, rootValue: payload });
    return { result, fits: fitsResponse(result, largeValues.budget) };
  };
  const run = (payload: unknown): Promise<Outcome> => {
    if (typeof payload !== 'object' || payload === null) return executeFor(payload);
    let byKey = cache.get(payload);
    if (!byKey) cache.set(payload, (byKey = new Map()));
    let outcome = byKey.get(key);
    if (!outcome) byKey.set(key, (outcome = executeFor(payload)));
    return outcome;
  };
  let ended = false;
  const end = async (): Promise<IteratorResult<ExecutionResult>> => {
    ended = true;
    await iterator.return?.();
    return { value: undefined, done: true };
  };
  const stream: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      for (;;) {
        const item = await iterator.next();
        if (item.done || ended) return end();
        const { result, fits } = await run(item.value);
        if (ended) return end();
        if (!fits) return { value: { errors: [tooLargeError(context.largeValues.budget.maxBytes)] }, done: false };
        if (!write || result.errors?.length) return { value: result, done: false };
        const drained = write(bytesOf(result));
        if (drained) await drained;
      }
    },
    return: end,
    async throw(err: unknown) {
      await end();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}

/** graphql-ws on the HTTP server's port and path, authenticated with the same API keys. */
export function startGraphQLWs(options: GraphQLWsOptions): GraphQLWsServer {
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
    // No compression: a subscriber's frame is then the shared payload's bytes as they are (see
    // ws-transport), and deflating the same events a thousand times over would cost more CPU than
    // the bytes it saves on a dashboard's connection.
    perMessageDeflate: false,
    // Only when set: an explicit undefined would replace ws's default with no limit at all.
    ...(options.maxPayloadBytes ? { maxPayload: options.maxPayloadBytes } : {}),
  });
  /** The open, authenticated sockets of each key: a socket is in it from its ack until its close. */
  const socketsByKey = new Map<string, Set<WebSocket>>();
  const states = new WeakMap<WebSocket, SocketState>();
  // A client can open sockets, send connection_init and cut them faster than keys are looked up:
  // unbounded, those lookups would queue in the database pool ahead of every other request.
  const keyCheck = pLimit(options.keyCheckConcurrency);
  const checkKey = (state: SocketState, check: () => Promise<Actor>): Promise<Actor | undefined> =>
    keyCheck(() => (state.closed ? undefined : check()));
  const socketOfContext = new WeakMap<object, WebSocket>();
  const revokedKeys = new LRUCache<string, true>({ max: REMEMBERED_REVOCATIONS });
  /** Per key: the mutations running on its sockets, by a token of their own. */
  const mutationsInFlight = new Map<string, Map<object, Promise<unknown>>>();
  const currentMutation = new AsyncLocalStorage<object>();

  const refuse = (error: AppError) => [toGraphQLError(error)];
  const revokedError = () => new AppError(ErrorCode.UNAUTHENTICATED, 'The API key of this socket was revoked');
  /** Whether the socket may still run operations: open, and its key not revoked as far as this process knows. */
  const usable = (socket: WebSocket, state: SocketState | undefined): state is SocketState & { actor: Actor } =>
    !!state?.actor && !state.closed && socket.readyState === socket.OPEN && !revokedKeys.has(state.actor.apiKeyId);

  const release = (socket: WebSocket, apiKeyId: string) => {
    const sockets = socketsByKey.get(apiKeyId);
    if (!sockets?.delete(socket)) return;
    if (sockets.size === 0) socketsByKey.delete(apiKeyId);
  };

  const closeSocketsOfKey = async (apiKeyId: string): Promise<void> => {
    revokedKeys.set(apiKeyId, true);
    for (const socket of socketsByKey.get(apiKeyId) ?? []) {
      const state = states.get(socket);
      if (state) state.closed = true;
      socket.close(WsCloseCode.KeyRevoked, 'API key revoked');
    }
    const self = currentMutation.getStore();
    const running = [...(mutationsInFlight.get(apiKeyId) ?? [])].filter(([token]) => token !== self).map(([, done]) => done);
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(running),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, REVOCATION_DRAIN_MS);
      }),
    ]);
    clearTimeout(timer);
  };

  /** Runs a mutation so that a revocation of its key can wait for it (see closeSocketsOfKey). */
  const tracked = (apiKeyId: string, run: () => Promise<ExecutionResult>): Promise<ExecutionResult> => {
    const token = {};
    const done = currentMutation.run(token, run);
    const running = mutationsInFlight.get(apiKeyId) ?? new Map<object, Promise<unknown>>();
    mutationsInFlight.set(apiKeyId, running);
    running.set(token, done);
    const forget = () => {
      running.delete(token);
      if (running.size === 0 && mutationsInFlight.get(apiKeyId) === running) mutationsInFlight.delete(apiKeyId);
    };
    done.then(forget, forget);
    return done;
  };

  /** The last gate before execution: nothing runs on a socket whose key was revoked meanwhile. */
  const gated = <T>(args: ExecutionArgs, run: (actor: Actor) => T): T | ExecutionResult => {
    const context = args.contextValue;
    const socket = typeof context === 'object' && context !== null ? socketOfContext.get(context) : undefined;
    const state = socket && states.get(socket);
    if (!socket || !usable(socket, state)) return { errors: refuse(revokedError()) };
    return run(state.actor);
  };

  let rechecking = false;
  const recheckKeys = async () => {
    if (rechecking || socketsByKey.size === 0) return;
    rechecking = true;
    try {
      const ids = [...socketsByKey.keys()];
      for (let i = 0; i < ids.length; i += RECHECK_BATCH) {
        for (const id of await options.apiKeys.revokedAmong(ids.slice(i, i + RECHECK_BATCH))) void closeSocketsOfKey(id);
      }
    } catch (err) {
      options.logger.warn({ err }, 'could not re-check the keys of open sockets');
    } finally {
      rechecking = false;
    }
  };
  const recheckTimer = setInterval(() => void recheckKeys(), options.keyRecheckMs);
  recheckTimer.unref();

  const serverCleanup = serveGraphQLWs<Record<string, unknown>>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: options.authTimeoutMs,
      subscribe: (args) => gated(args, () => subscribeShared(args)),
      execute: (args) =>
        gated(args, (actor) => {
          const isMutation = getOperationAST(args.document, args.operationName)?.operation === 'mutation';
          return isMutation ? tracked(actor.apiKeyId, async () => execute(args)) : execute(args);
        }),
      context: (ctx, id): GraphQLContext => {
        const state = states.get(ctx.extra.socket);
        if (!state?.actor) throw new Error('unauthenticated socket reached execution');
        const context: GraphQLContext = { actor: state.actor, live: options.live, largeValues: options.newLargeValues() };
        writers.set(context, ctx.extra.nextWriter(id));
        socketOfContext.set(context, ctx.extra.socket);
        return context;
      },
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const state: SocketState = { subscriptions: 0, closed: false };
        states.set(socket, state);
        try {
          const actor = await checkKey(state, () =>
            options.apiKeys.authenticate(keyFrom(ctx.connectionParams, ctx.extra.request.headers), {
              clientAddress: ctx.extra.clientAddress,
            }),
          );
          // The socket may have closed while its key was checked (onClose has then run, or will
          // find no slot to give back): it must not take one now.
          if (!actor || state.closed || socket.readyState !== socket.OPEN) return false;
          // Or the key was revoked while it was checked.
          if (revokedKeys.has(actor.apiKeyId)) return false;
          const sockets = socketsByKey.get(actor.apiKeyId) ?? new Set<WebSocket>();
          if (sockets.size >= options.maxSocketsPerKey) {
            socket.close(WsCloseCode.TooManySockets, `At most ${options.maxSocketsPerKey} sockets per API key`);
            return false;
          }
          sockets.add(socket);
          socketsByKey.set(actor.apiKeyId, sockets);
          state.actor = actor;
          return true;
        } catch (err) {
          if (err instanceof AppError && err.code === ErrorCode.RATE_LIMITED) {
            socket.close(WsCloseCode.RateLimited, err.message);
          } else if (!(err instanceof AppError)) {
            options.logger.warn({ err }, 'websocket authentication failed');
          }
          return false; // graphql-ws closes with 4403 Forbidden (nothing more once closed above)
        }
      },
      onClose: (ctx) => {
        const state = states.get(ctx.extra.socket);
        if (!state) return;
        state.closed = true;
        if (state.actor) release(ctx.extra.socket, state.actor.apiKeyId);
      },
      onSubscribe: async (ctx, _id, payload) => {
        const socket = ctx.extra.socket;
        const state = states.get(socket);
        if (!state?.actor) return refuse(new AppError(ErrorCode.UNAUTHENTICATED, 'Not authenticated'));
        if (!usable(socket, state)) return refuse(revokedError());
        if (state.subscriptions >= options.maxSubscriptionsPerSocket) {
          return refuse(
            limitExceeded(`At most ${options.maxSubscriptionsPerSocket} subscriptions per socket`, {
              limit: options.maxSubscriptionsPerSocket,
            }),
          );
        }
        // Parsed and validated here (with the limits), so a refused operation is never counted.
        const prepared = prepareOperation({
          schema: options.schema,
          payload,
          parseOptions: options.parseOptions,
          validationRules: options.validationRules,
          check: options.operationCheck,
        });
        if (!('document' in prepared)) return prepared;
        // Counted before the key is checked again, so operations sent together cannot all pass the cap.
        state.subscriptions++;
        try {
          // Every operation checks the key again, as an HTTP request does: a revocation whose
          // notification has not reached this process (or never will) still stops it.
          const live = await options.apiKeys.isLive(state.actor);
          if (!live) void closeSocketsOfKey(state.actor.apiKeyId);
          if (!live || !usable(socket, state)) {
            state.subscriptions--;
            return refuse(revokedError());
          }
        } catch (err) {
          state.subscriptions--;
          throw err;
        }
        return prepared;
      },
      onComplete: (ctx) => {
        const state = states.get(ctx.extra.socket);
        if (state && state.subscriptions > 0) state.subscriptions--;
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatGraphQLError(options.formatError, e)),
      onNext: (_ctx, _id, _payload, args, result) => {
        // A query or mutation's answer (a subscription's events are measured in subscribeShared).
        const budget = (args.contextValue as GraphQLContext).largeValues.budget;
        if (!fitsResponse(result, budget)) return { errors: [formatGraphQLError(options.formatError, tooLargeError(budget.maxBytes))] };
        if (!('errors' in result) || !result.errors?.length) return result;
        return { ...result, errors: result.errors.map((e) => formatGraphQLError(options.formatError, e)) };
      },
    },
    { wss, logger: options.logger, clientAddress: options.clientAddress },
  );
  return {
    closeSocketsOfKey,
    async close() {
      clearInterval(recheckTimer);
      await serverCleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
