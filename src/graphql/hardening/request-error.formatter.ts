import type { GraphQLFormattedError } from 'graphql';
import { isRequestError } from '../error-mapping.js';

/** The shape of `createErrorFormatter`'s result and of Apollo's `formatError`. */
export type ErrorFormatter = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

const withoutSuggestions = (message: string): string => message.replace(/ ?Did you mean(.+?)\?$/, '');

export interface RequestErrorOptions {
  /** Cut graphql-js's "Did you mean …?" hints, which spell out the schema; set when introspection is off. */
  readonly hideSuggestions: boolean;
}

/**
 * Wraps the app's error formatter (graphql/error-mapping.ts): with introspection off, request
 * errors lose graphql-js's suggestions on both transports, so they cannot be used to map the schema.
 */
export function withRequestErrors(format: ErrorFormatter, options: RequestErrorOptions): ErrorFormatter {
  return (formatted, error) => {
    if (!options.hideSuggestions || !isRequestError(error)) return format(formatted, error);
    return format({ ...formatted, message: withoutSuggestions(formatted.message) }, error);
  };
}
