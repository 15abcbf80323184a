import {
  getOperationAST,
  getVariableValues,
  Kind,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/** An operation as it is about to run: the parsed and validated document and the raw variables. */
export interface OperationRequest {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operationName?: string | null;
  readonly variables?: Readonly<Record<string, unknown>> | null;
}

/** What of a document runs: the operation, the fragments it spreads (each once), its variables coerced. */
export interface RunningOperation {
  readonly operation: OperationDefinitionNode;
  readonly fragments: readonly FragmentDefinitionNode[];
  readonly variables: Readonly<Record<string, unknown>>;
}

/**
 * The part of the request that will run, or undefined when execution will refuse it anyway (no
 * such operation, variables that do not coerce): execution then reports that itself.
 */
export function runningOperation(request: OperationRequest): RunningOperation | undefined {
  const operation = getOperationAST(request.document, request.operationName);
  if (!operation) return undefined;
  const coerced = getVariableValues(request.schema, operation.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: 1 });
  if (coerced.errors) return undefined;
  const byName = new Map<string, FragmentDefinitionNode>();
  for (const d of request.document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) byName.set(d.name.value, d);
  const fragments: FragmentDefinitionNode[] = [];
  const pending: (OperationDefinitionNode | FragmentDefinitionNode)[] = [operation];
  while (pending.length > 0) {
    visit(pending.pop()!, {
      FragmentSpread(spread) {
        const fragment = byName.get(spread.name.value);
        if (fragment && !fragments.includes(fragment)) {
          fragments.push(fragment);
          pending.push(fragment);
        }
      },
    });
  }
  return { operation, fragments, variables: coerced.coerced };
}
