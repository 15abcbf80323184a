import {
  Kind,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
} from 'graphql';
import { AppError } from '../../domain/errors.js';
import { runningOperation, type OperationRequest } from './operation-nodes.js';
import { costRule } from './query-limit.rules.js';

/** What the cost of an operation is measured against. */
export interface CostLimits {
  /** GRAPHQL_MAX_COST. */
  readonly maxCost: number;
  /** The largest page a list returns: a larger `first` is refused anyway, and counts as this. */
  readonly maxPageSize: number;
}

/** The names GraphQL Armor's cost rule reads a page size from. */
const PAGE_ARGUMENTS = ['first', 'last'];

/**
 * The page size a field will return: its `first` literal, or the variable's value, or (absent or
 * null) the argument's default, or, with none declared, the largest page.
 */
function pageSize(
  field: FieldNode,
  definition: GraphQLField<unknown, unknown>,
  variables: Readonly<Record<string, unknown>>,
  maxPageSize: number,
): { name: string; size: number } | undefined {
  const argument = definition.args.find((a) => PAGE_ARGUMENTS.includes(a.name));
  if (!argument) return undefined;
  const given = field.arguments?.find((a) => a.name.value === argument.name)?.value;
  let value: unknown;
  if (given?.kind === Kind.INT) value = Number.parseInt(given.value, 10);
  else if (given?.kind === Kind.VARIABLE) value = variables[given.name.value];
  const fallback = typeof argument.defaultValue === 'number' ? argument.defaultValue : maxPageSize;
  const size = typeof value === 'number' && Number.isFinite(value) ? value : fallback;
  return { name: argument.name, size: Math.max(0, Math.min(size, maxPageSize)) };
}

/**
 * GraphQL Armor's cost rule over the operation about to run, with every page size it will
 * return written in as a literal: a `first` given as a variable, or left out (its default), counts
 * as much as a literal one. The rule itself reads only literals; and it cannot run at validation,
 * which sees no variables and whose outcome Apollo caches per document. LIMIT_EXCEEDED
 * (`limit: 'maxCost'`) when over, otherwise undefined.
 */
export function checkOperationCost(request: OperationRequest, limits: CostLimits): AppError | undefined {
  const running = runningOperation(request);
  if (!running) return undefined;
  const typeInfo = new TypeInfo(request.schema);
  const withSizes = (node: DocumentNode['definitions'][number]) =>
    visit(
      node,
      visitWithTypeInfo(typeInfo, {
        Field(field) {
          const definition = typeInfo.getFieldDef();
          const page = definition && pageSize(field, definition, running.variables, limits.maxPageSize);
          if (!page) return undefined;
          const literal: ArgumentNode = {
            kind: Kind.ARGUMENT,
            name: { kind: Kind.NAME, value: page.name },
            value: { kind: Kind.INT, value: String(page.size) },
          };
          return { ...field, arguments: [literal, ...(field.arguments ?? []).filter((a) => a.name.value !== page.name)] };
        },
      }),
    );
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [running.operation, ...running.fragments].map(withSizes),
  };
  const [error] = validate(request.schema, document, [costRule(limits.maxCost)]);
  if (!error) return undefined;
  if (error.originalError instanceof AppError) return error.originalError;
  throw new Error(`the cost rule failed: ${error.message}`);
}
