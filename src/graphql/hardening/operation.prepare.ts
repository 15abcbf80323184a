import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationRule,
} from 'graphql';
import { refusalError, type OperationCheck } from './operation-guard.plugin.js';

/** An operation as a graphql-ws `subscribe` message carries it. */
export interface OperationPayload {
  readonly query: string;
  readonly operationName?: string | null;
  readonly variables?: Readonly<Record<string, unknown>> | null;
}

export interface PrepareOperationOptions {
  readonly schema: GraphQLSchema;
  readonly payload: OperationPayload;
  readonly parseOptions?: ParseOptions;
  /** Run after graphql-js's `specifiedRules`. */
  readonly validationRules?: readonly ValidationRule[];
  /** Run once the operation is valid, with its variables (see GraphQLHardening.operationCheck). */
  readonly check?: OperationCheck;
}

/**
 * Parses (within the token limit), validates (with the query limits) and checks (with its
 * variables) an operation that arrived over graphql-ws, for its `onSubscribe` hook: returns the
 * execution arguments, or the errors to send back. graphql-ws's own parsing treats a syntax error
 * as an internal failure (it logs a stack and closes the socket with 4500); here it is an ordinary
 * GRAPHQL_PARSE_FAILED answer, and a refused operation never counts toward the socket's subscriptions.
 */
export function prepareOperation(options: PrepareOperationOptions): ExecutionArgs | readonly GraphQLError[] {
  let document: DocumentNode;
  try {
    document = parse(options.payload.query, options.parseOptions);
  } catch (err) {
    if (!(err instanceof GraphQLError)) throw err;
    return [new GraphQLError(err.message, { source: err.source, positions: err.positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
  }
  const errors = validate(options.schema, document, [...specifiedRules, ...(options.validationRules ?? [])]);
  if (errors.length > 0) {
    // The code Apollo gives the same errors over HTTP; a limit's error keeps its AppError (LIMIT_EXCEEDED).
    return errors.map((e) =>
      e.originalError ? e : new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } }),
    );
  }
  const refusal = options.check?.({
    schema: options.schema,
    document,
    operationName: options.payload.operationName,
    variables: options.payload.variables,
  });
  if (refusal) return [refusalError(refusal)];
  return {
    schema: options.schema,
    document,
    operationName: options.payload.operationName ?? undefined,
    variableValues: options.payload.variables ?? undefined,
  };
}
