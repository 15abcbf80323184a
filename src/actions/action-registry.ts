import type { ConfigCheck, StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { ActionDefinition, ConfigJsonSchema } from './action-definition.js';
import type { InboundTrigger, TriggerCatalog, TriggerStart } from './trigger-start.js';

/** Action type names: dotted camelCase segments (`trigger.manual`, `instagram.sendDirectMessage`). */
export const ACTION_TYPE_PATTERN = /^[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)*$/;

/**
 * The set of step types a deployment knows. Built once from a list of definitions
 * (see `builtin-actions.ts`); adding a type is one more definition in that list.
 */
export class ActionRegistry implements StepTypeCatalog, TriggerCatalog {
  private readonly byType: ReadonlyMap<string, ActionDefinition>;

  /** @throws Error on a malformed or duplicate type name. */
  constructor(definitions: readonly ActionDefinition[]) {
    const byType = new Map<string, ActionDefinition>();
    for (const definition of definitions) {
      if (!ACTION_TYPE_PATTERN.test(definition.type)) {
        throw new Error(`Action type '${definition.type}' is not a valid type name`);
      }
      if (byType.has(definition.type)) throw new Error(`Action type '${definition.type}' is registered twice`);
      byType.set(definition.type, definition);
    }
    this.byType = byType;
  }

  get(type: string): ActionDefinition | undefined {
    return this.byType.get(type);
  }

  /** Every definition, in registration order. */
  list(): readonly ActionDefinition[] {
    return [...this.byType.values()];
  }

  startOf(type: string): TriggerStart | undefined {
    return this.byType.get(type)?.start;
  }

  inboundTriggers(): readonly InboundTrigger[] {
    return this.list().flatMap(({ type, start }) => (start?.kind === 'inbound' ? [{ type, start }] : []));
  }

  /** JSON Schema of a type's config, or `undefined` for an unknown type. */
  jsonSchema(type: string): ConfigJsonSchema | undefined {
    return this.byType.get(type)?.jsonSchema();
  }

  /** Checks a config against its type; an unknown type is reported as an issue at `type`. */
  checkConfig(type: string, config: unknown): ConfigCheck {
    const definition = this.byType.get(type);
    if (definition === undefined) {
      return { ok: false, issues: [{ path: 'type', message: `Unknown step type '${type}'` }] };
    }
    return definition.checkConfig(config);
  }
}
