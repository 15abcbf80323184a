import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../context.js';
import { toFormattedError } from '../error-mapping.js';
import { fitsResponse, responseTooLarge } from './response-budget.js';

/**
 * Over HTTP, an answer that does not fit the execution's response budget (measured without
 * serializing it, and never past the budget) is replaced, before Apollo serializes it, by one
 * LIMIT_EXCEEDED error (`limit: 'maxResponseBytes'`): a partial answer could pass for a whole one.
 * A mutation's changes are kept; only its answer is refused.
 */
export function responseSizePlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse(ctx) {
          const body = ctx.response.body;
          // Context creation failed (no valid key): there is no budget, and nothing ran.
          const budget = ctx.contextValue.largeValues?.budget;
          if (body.kind !== 'single' || !budget || fitsResponse(body.singleResult, budget)) return;
          body.singleResult = { errors: [toFormattedError(responseTooLarge(budget.maxBytes))] };
        },
      };
    },
  };
}
