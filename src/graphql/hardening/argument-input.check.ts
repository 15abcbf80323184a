import {
  getArgumentValues,
  isInputObjectType,
  isListType,
  isNonNullType,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type GraphQLInputType,
} from 'graphql';
import { badInput, type AppError } from '../../domain/errors.js';
import { describeInputViolation, findInputViolation, inputViolationField } from '../../domain/input.rules.js';
import { runningOperation, type OperationRequest } from './operation-nodes.js';

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
 * or undefined.
 */
export function checkArgumentInput(request: OperationRequest): AppError | undefined {
  const running = runningOperation(request);
  if (!running) return undefined;
  let refusal: AppError | undefined;
  for (const node of [running.operation, ...running.fragments]) {
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
            values = getArgumentValues(definition, field, running.variables);
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
