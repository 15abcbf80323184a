import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import { limitExceeded } from '../../domain/errors.js';
import { toGraphQLError } from '../error-mapping.js';

/**
 * What one GraphQL operation may ask for; each comes from configuration (`GRAPHQL_MAX_*`).
 * Depth, aliases and directives are checked by validation rules; tokens while parsing; cost once
 * the variables are known (operation-cost.check.ts).
 */
export interface QueryLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxCost: number;
  readonly maxDirectives: number;
  readonly maxTokens: number;
}

/** Which limit an operation broke; sent to the client as `extensions.limit`. */
export type QueryLimit = keyof QueryLimits;

type RejectHandler = (context: ValidationContext | null, error: GraphQLError) => void;

/**
 * GraphQL Armor throws its rejection out of `validate` by default (a 500 on Apollo) and prefixes it
 * with "Syntax Error:". Instead, report it as a validation error whose original error is a
 * LIMIT_EXCEEDED AppError: Apollo keeps the original under its own wrapping, so the one error
 * formatter (graphql/error-mapping.ts) shows it as `{ code: 'LIMIT_EXCEEDED', limit, max }`, over
 * HTTP and WebSocket alike.
 */
export function reportAs(limit: QueryLimit, max: number): { propagateOnRejection: false; onReject: RejectHandler[] } {
  return {
    propagateOnRejection: false,
    onReject: [
      (context, error) => {
        const message = error.message.replace(/^Syntax Error: /, '');
        context?.reportError(toGraphQLError(limitExceeded(message, { limit, max })));
      },
    ],
  };
}

/**
 * The query limits that depend on the document alone, as graphql-js validation rules, for Apollo's
 * `validationRules` and graphql-ws's `validate`. Each rule walks fragments once (a spread of a
 * fragment already seen reuses its count), so fragment cycles, which graphql-js's own
 * NoFragmentCycles rule refuses, cannot make them loop. `__schema` (introspection) is not counted
 * toward depth. Cost depends on the variables too: see operation-cost.check.ts.
 */
export function queryLimitRules(limits: QueryLimits): ValidationRule[] {
  return [
    maxDepthRule({ n: limits.maxDepth, ...reportAs('maxDepth', limits.maxDepth) }),
    maxAliasesRule({ n: limits.maxAliases, ...reportAs('maxAliases', limits.maxAliases) }),
    maxDirectivesRule({ n: limits.maxDirectives, ...reportAs('maxDirectives', limits.maxDirectives) }),
  ];
}

/** GraphQL Armor's cost rule with our limit and our way of reporting it. */
export const costRule = (maxCost: number): ValidationRule => costLimitRule({ maxCost, ...reportAs('maxCost', maxCost) });
