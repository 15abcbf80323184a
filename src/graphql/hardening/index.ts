export { createGraphQLHardening, type ApolloHardeningOptions, type GraphQLHardening } from './graphql-hardening.js';
export { graphqlHttpErrorHandler } from './http-error.handler.js';
export { NoSubscriptionOverHttpRule } from './http-subscription.rule.js';
export { prepareOperation, type OperationPayload, type PrepareOperationOptions } from './operation.prepare.js';
export { queryLimitRules, type QueryLimit, type QueryLimits } from './query-limit.rules.js';
export { withRequestErrors, type ErrorFormatter, type RequestErrorOptions } from './request-error.formatter.js';
export { checkArgumentInput, type OperationRequest } from './argument-input.check.js';
export { operationGuardPlugin, refusalError, type OperationCheck } from './operation-guard.plugin.js';
