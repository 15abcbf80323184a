import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { badInput, type AppError } from '../../domain/errors.js';
import { describeInputViolation, findInputViolation, inputViolationField } from '../../domain/input.rules.js';

/** An operation as it is about to run: the parsed and validated document and the raw variables. */
export interface OperationRequest {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operationName?: string | null;
  readonly variables?: Readonly<Record<string, unknown>> | null;
}

/** The operation and the fragments it spreads, each once. */
function operationNodes(document: DocumentNode, operationName: string | null | undefined): ASTNode[] | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const nodes: ASTNode[] = [operation];
  const seen = new Set<string>();
  for (let i = 0; i < nodes.length; i++) {
    visit(nodes[i]!, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (fragment && !seen.has(spread.name.value)) {
          seen.add(spread.name.value);
          nodes.push(fragment);
        }
      },
    });
  }
  return nodes;
}

/** How many steps of `path` stay within input objects and lists of `type`, up to its first scalar. */
function leafDepth(type: GraphQLInputType, path: readonly (string | number)[]): number {
  let current: GraphQLInputType = type;
  for (let depth = 0; ; depth++) {
    const named = isNonNullType(current) ? current.ofType : current;
    if (isListType(named) && typeof path[depth] === 'number') current = named.ofType;
    else if (isInputObjectType(named) && typeof path[depth] === 'string') {
      const field = named.getFields()[path[depth] as string];
      if (!field) return depth;
      current = field.type;
    } else return depth;
  }
}

/**
 * The input rule (domain/input.rules.ts) over every argument of the operation about to run, as
 * its resolvers will receive it: variables and literals alike, after coercion. Returns the
 * refusal (BAD_USER_INPUT, `field` the argument and the path inside it, e.g. `input.config.text`)
 * or undefined. An operation whose variables do not coerce is left to execution, which reports
 * that itself.
 */
export function checkArgumentInput(request: OperationRequest): AppError | undefined {
  const nodes = operationNodes(request.document, request.operationName);
  if (!nodes) return undefined;
  const operation = nodes[0]!;
  if (operation.kind !== Kind.OPERATION_DEFINITION) return undefined;
  const coerced = getVariableValues(request.schema, operation.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: 1 });
  if (coerced.errors) return undefined;
  const variables = coerced.coerced;
  let refusal: AppError | undefined;
  for (const node of nodes) {
    const typeInfo = new TypeInfo(request.schema);
    visit(
      node,
      visitWithTypeInfo(typeInfo, {
        Field(field) {
          if (refusal || !field.arguments?.length) return;
          const definition = typeInfo.getFieldDef();
          if (!definition) return;
          let values: Record<string, unknown>;
          try {
            values = getArgumentValues(definition, field, variables);
          } catch {
            return; // execution refuses it with its own error
          }
          for (const [name, value] of Object.entries(values)) {
            const found = findInputViolation(value);
            if (!found) continue;
            const type = definition.args.find((a) => a.name === name)?.type;
            // Too deep is said of the JSON value as a whole (`input.config`), not of the level where
            // the count ran out; a bad string is named where it is (`input.config.text`).
            const violation = found.kind === 'TOO_DEEP' && type ? { ...found, path: found.path.slice(0, leafDepth(type, found.path)) } : found;
            const at = inputViolationField(violation, name);
            refusal = badInput(`The argument ${at} ${describeInputViolation(violation)}`, at);
            return;
          }
        },
      }),
    );
    if (refusal) return refusal;
  }
  return undefined;
}
