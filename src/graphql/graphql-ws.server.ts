import type { Server } from 'node:http';
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  print,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, ErrorCode, limitExceeded } from '../domain/errors.js';
import type { ApiKeyService, Actor } from '../services/api-key.service.js';
import { prepareOperation } from './hardening/operation.prepare.js';
import type { OperationCheck } from './hardening/operation-guard.plugin.js';
import type { GraphQLContext } from './context.js';
import type { SubscriptionSources } from './subscription/subscription-sources.js';
import { serveGraphQLWs, type NextWriter } from './ws-transport.js';
import type { GraphQLFormattedError } from 'graphql';

export interface GraphQLWsOptions {
  readonly httpServer: Server;
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly apiKeys: ApiKeyService;
  readonly live: SubscriptionSources;
  readonly logger: Logger;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
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
  /** Run on every valid operation with its variables (input rule); a refusal is sent as the operation's error. */
  readonly operationCheck?: OperationCheck;
}

interface SocketState {
  actor?: Actor;
  subscriptions: number;
}

/** Close codes of our own, in the 4000-4999 range the WebSocket spec leaves to applications. */
export const WsCloseCode = {
  TooManySockets: 4429,
} as const;

function keyFrom(params: Readonly<Record<string, unknown>> | undefined, headers: Record<string, string | string[] | undefined>): string | undefined {
  const fromParams = params?.authorization ?? params?.Authorization ?? params?.apiKey;
  if (typeof fromParams === 'string') return fromParams.startsWith('Bearer ') ? fromParams : `Bearer ${fromParams}`;
  const header = headers.authorization;
  return typeof header === 'string' ? header : undefined;
}

/** Results per source payload and per (workspace, document, variables). */
const cache = new WeakMap<object, Map<string, Promise<ExecutionResult> | ExecutionResult>>();
/** The JSON (UTF-8) of a shared result, made once for every socket it goes to. */
const encoded = new WeakMap<ExecutionResult, Buffer>();

function bytesOf(result: ExecutionResult): Buffer {
  let bytes = encoded.get(result);
  if (!bytes) encoded.set(result, (bytes = Buffer.from(JSON.stringify(result))));
  return bytes;
}

/** Per subscription (its GraphQL context object): the writer of its `next` messages. */
const writers = new WeakMap<object, NextWriter>();

/**
 * Executes a subscription's selection once per (source event, document, variables, workspace):
 * a workflow stream hands the same payload object to every live subscriber, so a thousand
 * dashboards watching one workflow cost one execution and one serialization per event, not a
 * thousand. A result without errors is written to the socket here, as the shared bytes; only
 * results with errors reach graphql-ws (whose `onNext` formats them). The stream is an iterator
 * rather than a generator so that `complete` from the client ends it at once, even while it waits.
 */
async function subscribeShared(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in Object(source))) return source as ExecutionResult;
  const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const context = args.contextValue as GraphQLContext;
  const write = writers.get(context);
  const key = [context.actor.workspaceId, print(args.document), args.operationName ?? '', JSON.stringify(args.variableValues ?? {})].join('\u0000');
  const run = (payload: unknown): Promise<ExecutionResult> | ExecutionResult => {
    if (typeof payload !== 'object' || payload === null) return execute({ ...args, rootValue: payload });
    let byKey = cache.get(payload);
    if (!byKey) cache.set(payload, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = execute({ ...args, rootValue: payload })));
    return result;
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
        const result = await run(item.value);
        if (ended) return end();
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
export function startGraphQLWs(options: GraphQLWsOptions): { close(): Promise<void> } {
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
  const socketsPerKey = new Map<string, number>();
  const states = new WeakMap<WebSocket, SocketState>();

  const serverCleanup = serveGraphQLWs<Record<string, unknown>>(
    {
      schema: options.schema,
      connectionInitWaitTimeout: options.authTimeoutMs,
      subscribe: (args) => subscribeShared(args),
      context: (ctx, id): GraphQLContext => {
        const state = states.get(ctx.extra.socket);
        if (!state?.actor) throw new Error('unauthenticated socket reached execution');
        const context: GraphQLContext = { actor: state.actor, live: options.live };
        writers.set(context, ctx.extra.nextWriter(id));
        return context;
      },
      onConnect: async (ctx) => {
        try {
          const actor = await options.apiKeys.authenticate(keyFrom(ctx.connectionParams, ctx.extra.request.headers));
          const open = socketsPerKey.get(actor.apiKeyId) ?? 0;
          if (open >= options.maxSocketsPerKey) {
            ctx.extra.socket.close(WsCloseCode.TooManySockets, `At most ${options.maxSocketsPerKey} sockets per API key`);
            return false;
          }
          socketsPerKey.set(actor.apiKeyId, open + 1);
          states.set(ctx.extra.socket, { actor, subscriptions: 0 });
          return true;
        } catch (err) {
          if (!(err instanceof AppError)) options.logger.warn({ err }, 'websocket authentication failed');
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onClose: (ctx) => {
        const actor = states.get(ctx.extra.socket)?.actor;
        if (!actor) return;
        const open = (socketsPerKey.get(actor.apiKeyId) ?? 1) - 1;
        if (open <= 0) socketsPerKey.delete(actor.apiKeyId);
        else socketsPerKey.set(actor.apiKeyId, open);
      },
      onSubscribe: (ctx, _id, payload) => {
        const state = states.get(ctx.extra.socket);
        const refuse = (error: AppError) => [
          new GraphQLError(error.message, { originalError: error, extensions: { ...error.details, code: error.code } }),
        ];
        if (!state) return refuse(new AppError(ErrorCode.UNAUTHENTICATED, 'Not authenticated'));
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
        state.subscriptions++;
        return prepared;
      },
      onComplete: (ctx) => {
        const state = states.get(ctx.extra.socket);
        if (state && state.subscriptions > 0) state.subscriptions--;
      },
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) => {
          const formatted = options.formatError(e.toJSON(), e);
          return new GraphQLError(formatted.message, { extensions: formatted.extensions });
        }),
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!('errors' in result) || !result.errors?.length) return result;
        return {
          ...result,
          errors: result.errors.map((e) => {
            const formatted = options.formatError(e.toJSON(), e);
            return new GraphQLError(formatted.message, { path: e.path, extensions: formatted.extensions });
          }),
        };
      },
    },
    wss,
    options.logger,
  );
  return {
    async close() {
      await serverCleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
