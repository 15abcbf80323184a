import { Kind, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** The fields named `name` in these selection sets, looking through fragments. */
function fieldsNamed(
  sets: readonly SelectionSetNode[],
  name: string,
  fragments: Readonly<Record<string, FragmentDefinitionNode>>,
): FieldNode[] {
  const found: FieldNode[] = [];
  const seen = new Set<string>();
  const pending = [...sets];
  while (pending.length > 0) {
    for (const selection of pending.pop()!.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === name) found.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        pending.push(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments[selection.name.value];
        if (fragment) pending.push(fragment.selectionSet);
      }
    }
  }
  return found;
}

/**
 * Whether the field being resolved selects `path` below it (`['edges', 'node', 'config']`), by
 * field name, through aliases, fragment spreads and inline fragments. `@skip`/`@include` are not
 * evaluated: a field they may leave out counts as selected, which errs on the side of weighing.
 */
export function selects(info: GraphQLResolveInfo, path: readonly string[]): boolean {
  let sets = info.fieldNodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
  for (const name of path) {
    const fields = fieldsNamed(sets, name, info.fragments);
    if (fields.length === 0) return false;
    sets = fields.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
  }
  return true;
}
