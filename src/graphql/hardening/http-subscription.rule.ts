import { GraphQLError, type ValidationRule } from 'graphql';

/**
 * Apollo Server would try to execute a subscription sent over HTTP and fail with an internal error;
 * refuse it as a request error that says where subscriptions are served. For HTTP only.
 */
export const NoSubscriptionOverHttpRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation !== 'subscription') return;
    context.reportError(
      new GraphQLError('Subscriptions are served over WebSocket (the graphql-ws protocol) on this same path, not over HTTP', {
        nodes: [node],
      }),
    );
  },
});
