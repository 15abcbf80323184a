import type { ApolloServerPlugin } from '@apollo/server';
import type { AppError } from '../../domain/errors.js';
import type { GraphQLContext } from '../context.js';
import { toGraphQLError } from '../error-mapping.js';
import type { OperationRequest } from './operation-nodes.js';

/** A check of an operation about to run, with its variables; the refusal, or undefined. */
export type OperationCheck = (request: OperationRequest) => AppError | undefined;

/** The refusal as the request error both transports send: 400 over HTTP. */
export const refusalError = (refusal: AppError) => toGraphQLError(refusal, { status: 400 });

/**
 * Runs `check` on every operation over HTTP once it is resolved, with this request's variables:
 * what validation cannot see (it runs once per document and Apollo caches its outcome) is checked
 * here, before anything executes.
 */
export function operationGuardPlugin(check: OperationCheck): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(ctx) {
          const refusal = check({
            schema: ctx.schema,
            document: ctx.document,
            operationName: ctx.operationName,
            variables: ctx.request.variables,
          });
          if (refusal) throw refusalError(refusal);
        },
      };
    },
  };
}
