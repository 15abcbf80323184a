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
    // Duck-typed rather than `instanceof GraphQLError`: a bundler may load graphql twice.
    const isGraphQLError = typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'GraphQLError';
    const original = isGraphQLError ? (error as { originalError?: unknown }).originalError : undefined;
    if (typeof code === 'string' && PASS_THROUGH.has(code) && !original) {
      const { stacktrace: _s, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    if (!original && isGraphQLError && !code) {
      // Argument coercion and similar request errors from graphql-js itself.
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code: 'BAD_USER_INPUT' } };
    }
    logger.error({ err: original ?? error, path: formatted.path }, 'unexpected error while resolving a request');
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
