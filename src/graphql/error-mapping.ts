import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.js';

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

/** True for errors of the request itself (parse, validation, coercion): nothing was thrown under them. */
export const isRequestError = (error: unknown): boolean => rootCause(error) === undefined;

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

/**
 * The one place errors become what a client sees: AppErrors keep their code, message and details;
 * GraphQL's own request errors pass; anything else is logged with context and shown as a generic
 * message, so no stack trace or SQL reaches a client.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const app = appErrorOf(error);
    if (app) {
      return {
        message: app.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...app.details, code: app.code },
      };
    }
    const code = formatted.extensions?.code;
    const cause = rootCause(error);
    // No non-GraphQL error underneath: a request error of graphql-js or Apollo (parse, validation,
    // variable coercion), which is safe to show as it is.
    if (cause === undefined) {
      const { stacktrace: _s, ...extensions } = formatted.extensions ?? {};
      if (typeof code === 'string' && PASS_THROUGH.has(code)) return { ...formatted, extensions };
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code: 'BAD_USER_INPUT' } };
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
