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
import { fitsResponse, responseTooLarge } from './hardening/response-budget.js';
import type { LargeValues } from './common/large-values.loader.js';
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
  /** Run on every valid operation with its variables (cost, input rule); a refusal is sent as the operation's error. */
  readonly operationCheck?: OperationCheck;
  /** The large values (and response budget) of one execution; see GraphQLContext.largeValues. */
  readonly newLargeValues: () => LargeValues;
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
function tooLargeError(maxBytes: number): GraphQLError {
  const refusal = responseTooLarge(maxBytes);
  return new GraphQLError(refusal.message, { originalError: refusal, extensions: { ...refusal.details, code: refusal.code } });
}

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
        const context: GraphQLContext = { actor: state.actor, live: options.live, largeValues: options.newLargeValues() };
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
      onNext: (_ctx, _id, _payload, args, result) => {
        // A query or mutation's answer (a subscription's events are measured in subscribeShared).
        const budget = (args.contextValue as GraphQLContext).largeValues.budget;
        if (!fitsResponse(result, budget)) {
          const error = tooLargeError(budget.maxBytes);
          const formatted = options.formatError(error.toJSON(), error);
          return { errors: [new GraphQLError(formatted.message, { extensions: formatted.extensions })] };
        }
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
