import type { ApolloServerPlugin } from '@apollo/server';
import { NoSchemaIntrospectionCustomRule, type ParseOptions, type ValidationRule } from 'graphql';
import type { GraphQLContext } from '../context.js';
import { checkArgumentInput } from './argument-input.check.js';
import { checkOperationCost } from './operation-cost.check.js';
import { operationGuardPlugin, type OperationCheck } from './operation-guard.plugin.js';
import { responseSizePlugin } from './response-size.plugin.js';
import { NoSubscriptionOverHttpRule } from './http-subscription.rule.js';
import { queryLimitRules, type QueryLimits } from './query-limit.rules.js';

/** The deployment's GraphQL protections, resolved from configuration once and shared by both transports. */
export interface GraphQLHardening {
  readonly limits: QueryLimits;
  /** Whether schema introspection is served. */
  readonly introspection: boolean;
  /** Largest request body (HTTP) or message (WebSocket), in bytes. */
  readonly maxBodyBytes: number;
  /** Largest answer of one execution (an operation, or one event of a subscription), in bytes. */
  readonly maxResponseBytes: number;
  /**
   * Every rule to run after graphql-js's `specifiedRules`: the query limits and, when introspection
   * is off, graphql-js's NoSchemaIntrospection rule. For graphql-ws, which has no switch of its own.
   */
  readonly validationRules: readonly ValidationRule[];
  /** Parser options (the token limit), for Apollo's `parseOptions` and graphql-ws's `parse`. */
  readonly parseOptions: ParseOptions;
  /**
   * What each operation is checked for once its variables are known, on both transports: its cost
   * (page sizes given as variables or left to their default count too), then the input rule over
   * every argument. Validation cannot do either: it sees no variables and its outcome is cached per
   * document.
   */
  readonly operationCheck: OperationCheck;
  /** Options to spread into `new ApolloServer({ ... })`. */
  readonly apollo: ApolloHardeningOptions;
  /** Plugins to add to Apollo's: `operationCheck`, and the response size limit, over HTTP. */
  readonly apolloPlugins: readonly ApolloServerPlugin<GraphQLContext>[];
}

/** The subset of Apollo Server's options the hardening decides. */
export interface ApolloHardeningOptions {
  readonly introspection: boolean;
  /**
   * The query limits, and refusing subscriptions (served over WebSocket only); Apollo adds its own
   * introspection rule from `introspection`.
   */
  readonly validationRules: ValidationRule[];
  readonly parseOptions: ParseOptions;
  /** Refuse simple (CORS-safelisted) requests without a preflight-forcing header; Apollo's default, stated. */
  readonly csrfPrevention: true;
  readonly includeStacktraceInErrorResponses: false;
  /** With introspection off, "Did you mean …?" would still spell out the schema. */
  readonly hideSchemaDetailsFromClientErrors: boolean;
}

/** What the deployment decides; the server's configuration maps its settings onto it. */
export interface GraphQLHardeningOptions {
  readonly limits: QueryLimits;
  /** Whether schema introspection is served. */
  readonly introspection: boolean;
  readonly maxBodyBytes: number;
  readonly maxResponseBytes: number;
  /** The cap on a connection's `first`, which the cost of an operation is counted against. */
  readonly maxPageSize: number;
}

/** Resolves the protections once, for both transports. */
export function createGraphQLHardening(options: GraphQLHardeningOptions): GraphQLHardening {
  const { limits, introspection } = options;
  const limitRules = queryLimitRules(limits);
  const parseOptions: ParseOptions = { maxTokens: limits.maxTokens };
  const costLimits = { maxCost: limits.maxCost, maxPageSize: options.maxPageSize };
  const operationCheck: OperationCheck = (request) => checkOperationCost(request, costLimits) ?? checkArgumentInput(request);
  return {
    limits,
    introspection,
    maxBodyBytes: options.maxBodyBytes,
    maxResponseBytes: options.maxResponseBytes,
    validationRules: introspection ? limitRules : [...limitRules, NoSchemaIntrospectionCustomRule],
    parseOptions,
    operationCheck,
    apolloPlugins: [operationGuardPlugin(operationCheck), responseSizePlugin()],
    apollo: {
      introspection,
      validationRules: [...limitRules, NoSubscriptionOverHttpRule],
      parseOptions,
      csrfPrevention: true,
      includeStacktraceInErrorResponses: false,
      hideSchemaDetailsFromClientErrors: !introspection,
    },
  };
}
