import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/** The shape of `createErrorFormatter`'s result and of Apollo's `formatError`. */
export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/** Codes of the errors Apollo makes by wrapping graphql-js's own parse, validation and coercion errors. */
const APOLLO_WRAPPED_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'OPERATION_RESOLUTION_FAILURE']);

/** True when nothing but GraphQLErrors lies under `error`: a request error, not a thrown bug or an AppError. */
function isPureGraphQLError(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError)) return false;
  let current: unknown = error;
  for (let i = 0; i < 5 && current instanceof GraphQLError; i++) current = current.originalError;
  return current === undefined;
}

const withoutSuggestions = (message: string): string => message.replace(/ ?Did you mean(.+?)\?$/, '');

export interface RequestErrorOptions {
  /** Cut graphql-js's "Did you mean …?" hints, which spell out the schema; set when introspection is off. */
  readonly hideSuggestions: boolean;
}

/**
 * Wraps the app's error formatter (graphql/error-mapping.ts) for what it does not expect:
 * - Apollo wraps its parse and validation errors around graphql-js's error as `originalError`, which
 *   that formatter takes for an unexpected failure and masks. Such a wrapper, with only GraphQL
 *   errors beneath it, is handed on without its original, so it passes as the request error it is.
 * - With introspection off, suggestions are cut from request errors on both transports.
 * Errors carrying an AppError or a thrown exception are handed on untouched.
 */
export function withRequestErrors(format: ErrorFormatter, options: RequestErrorOptions): ErrorFormatter {
  return (formatted, error) => {
    if (!isPureGraphQLError(error)) return format(formatted, error);
    const code = formatted.extensions?.code;
    const unwrapped =
      error.originalError && typeof code === 'string' && APOLLO_WRAPPED_CODES.has(code)
        ? new GraphQLError(error.message, {
            nodes: error.nodes,
            source: error.source,
            positions: error.positions,
            path: error.path,
            extensions: error.extensions,
          })
        : error;
    const shown = options.hideSuggestions ? { ...formatted, message: withoutSuggestions(formatted.message) } : formatted;
    return format(shown, unwrapped);
  };
}
