import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AppError, ErrorCode } from '../domain/errors.js';

/**
 * The one place where errors become what a GraphQL client sees, on HTTP (Apollo) and WebSocket
 * (graphql-ws) alike: an AppError keeps its code, message and details; GraphQL's own request
 * errors pass; anything else is logged with context and shown as a generic message.
 */

/** The shape of Apollo's `formatError`, used by both transports. */
export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/** How an AppError is answered over HTTP, when not with Apollo's default status. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers?: ReadonlyMap<string, string>;
}

/**
 * An AppError as a GraphQLError: its code and details become `extensions`, and the AppError stays
 * underneath (`originalError`) for the formatter. `http` sets the status Apollo answers with.
 */
export function toGraphQLError(error: AppError, http?: HttpAnswer): GraphQLError {
  const extensions = { ...error.details, code: error.code };
  return new GraphQLError(error.message, {
    originalError: error,
    extensions: http ? { ...extensions, http: { status: http.status, headers: new Map(http.headers ?? []) } } : extensions,
  });
}

/** An AppError as it is shown to a client: its message, and its details with its code. */
export function toFormattedError(error: AppError, where: Pick<GraphQLFormattedError, 'locations' | 'path'> = {}): GraphQLFormattedError {
  return { message: error.message, locations: where.locations, path: where.path, extensions: { ...error.details, code: error.code } };
}

/**
 * A failed key check of an HTTP request: 429 with `Retry-After` when the client's address made too
 * many failed attempts, 401 for any other refusal; anything that is not an AppError is rethrown.
 */
export function authenticationError(err: unknown): GraphQLError {
  if (!(err instanceof AppError)) throw err;
  if (err.code === ErrorCode.RATE_LIMITED) {
    return toGraphQLError(err, { status: 429, headers: new Map([['retry-after', String(err.details.retryAfter)]]) });
  }
  return toGraphQLError(err, { status: 401 });
}

/** A GraphQLError formatted for a transport that sends GraphQLErrors rather than formatted ones (graphql-ws). */
export function formatGraphQLError(format: ErrorFormatter, error: GraphQLError): GraphQLError {
  const formatted = format(error.toJSON(), error);
  return new GraphQLError(formatted.message, { path: error.path, extensions: formatted.extensions });
}

/** Codes GraphQL and Apollo themselves produce for malformed requests; safe to pass through. */
const PASS_THROUGH = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'UNAUTHENTICATED',
]);

/** Finds the AppError under GraphQL's wrapping, if the failure is one. */
function appErrorOf(error: unknown): AppError | undefined {
  let current: unknown = error;
  for (let i = 0; i < 5 && current; i++) {
    if (current instanceof AppError) return current;
    current = (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}

/**
 * Duck-typed rather than `instanceof GraphQLError`: a bundler may load graphql twice, and Apollo
 * wraps graphql-js errors in its own subclasses.
 */
const isGraphQLErrorLike = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && 'extensions' in e && 'locations' in e && 'path' in e;

/** The first error under the GraphQL wrappers that is not itself a GraphQL error, if any. */
function rootCause(error: unknown): unknown {
  let current: unknown = error;
  for (let i = 0; i < 8; i++) {
    if (!isGraphQLErrorLike(current)) return current;
    current = (current as { originalError?: unknown }).originalError;
    if (current === undefined || current === null) return undefined;
  }
  return current;
}

const withoutSuggestions = (message: string): string => message.replace(/ ?Did you mean(.+?)\?$/, '');

export interface ErrorFormatterOptions {
  readonly logger: Logger;
  /** Cut graphql-js's "Did you mean …?" hints, which spell out the schema; set when introspection is off. */
  readonly hideSuggestions: boolean;
}

/**
 * The formatter of both transports: AppErrors keep their code, message and details; GraphQL's own
 * request errors pass (without suggestions when `hideSuggestions`); anything else is logged with
 * context and shown as a generic message, so no stack trace or SQL reaches a client.
 */
export function createErrorFormatter({ logger, hideSuggestions }: ErrorFormatterOptions): ErrorFormatter {
  return (formatted, error) => {
    const app = appErrorOf(error);
    if (app) return toFormattedError(app, formatted);
    const code = formatted.extensions?.code;
    const cause = rootCause(error);
    // No non-GraphQL error underneath: a request error of graphql-js or Apollo (parse, validation,
    // variable coercion), which is safe to show as it is.
    if (cause === undefined) {
      const { stacktrace: _s, ...extensions } = formatted.extensions ?? {};
      const message = hideSuggestions ? withoutSuggestions(formatted.message) : formatted.message;
      if (typeof code === 'string' && PASS_THROUGH.has(code)) return { ...formatted, message, extensions };
      return { message, locations: formatted.locations, path: formatted.path, extensions: { code: 'BAD_USER_INPUT' } };
    }
    const original = cause;
    logger.error({ err: original ?? error, path: formatted.path }, 'unexpected error while resolving a request');
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
