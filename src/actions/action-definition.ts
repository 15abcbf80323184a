import { z } from 'zod';
import { ERROR_PORT } from '../domain/graph.js';
import type { JsonObject, JsonValue } from '../domain/json.js';
import { isJsonObject } from '../domain/json.js';
import { mergeRetryPolicy, NO_RETRY, retryOverrideSchema, type RetryPolicy } from '../domain/retry-policy.js';
import type { RunContext } from '../domain/run-context.js';
import type { WaitArrival } from '../domain/wait.js';
import type { ConfigCheck, PortSpec, StepCategory, StepTypeInfo } from '../domain/step-type-catalog.js';
import { renderDeep, renderTemplate } from '../domain/template.js';
import { fatal, toActionError } from '../domain/action-error.js';
import type { ActionInvocation, ActionResult, ActionServices, RunnableAction } from '../ports/action.port.js';
import { toConfigIssues } from './config-issues.js';
import { registeredStart, type TriggerStart, type TriggerStartSpec } from './trigger-start.js';

/**
 * What an action's `run()` sees. The config is parsed (defaults applied) but not rendered:
 * each action renders the fields that are templates, when it needs them, with
 * {@link ActionContext.render} or {@link ActionContext.renderJson}.
 */
export interface ActionContext<C> {
  readonly config: C;
  readonly context: RunContext;
  readonly instanceId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly resumedAfterWait: boolean;
  /** What ended the wait this run resumes, when it was not the due time (see ActionInvocation.arrival). */
  readonly arrival: WaitArrival | undefined;
  readonly signal: AbortSignal;
  /**
   * Throws when this attempt may no longer act on the world (its lease is gone). Pass it on as
   * `beforeSend` to the ports that send (HTTP, messaging), which call it right before they do.
   */
  readonly beforeSideEffect: () => void;
  readonly services: ActionServices;
  /** `${instanceId}:${stepId}`: the same for every attempt, so providers can drop repeats. */
  readonly idempotencyKey: string;
  /** Renders a template string against the run context; throws `TemplateError`. */
  render(template: string): string;
  /** Renders every string in a JSON value against the run context; throws `TemplateError`. */
  renderJson(value: JsonValue): JsonValue;
}

/** The declaration of one action type, as written in its `*.action.ts` file. */
export interface ActionSpec<C extends object> {
  /** Registry key, dotted camelCase (`instagram.sendDirectMessage`). */
  readonly type: string;
  readonly category: StepCategory;
  readonly displayName: string;
  readonly description: string;
  /** Parses a stored config; its JSON schema drives the editor form. */
  readonly config: z.ZodType<C>;
  /**
   * Output ports: a fixed list, or computed from a valid config (e.g. `switch`). Steps of category
   * `action` also get the optional `error` port (see {@link ERROR_PORT}) without declaring it.
   */
  readonly ports: readonly PortSpec[] | ((config: C) => readonly PortSpec[]);
  /**
   * Default retry policy; a config's `retry` field, when the schema has one, overrides fields of
   * it. Defaults to no retries.
   */
  readonly retry?: RetryPolicy;
  /** Triggers only, and required of them: how the type is started (see {@link TriggerStartSpec}). */
  readonly start?: TriggerStartSpec<C>;
  run(ctx: ActionContext<C>): Promise<ActionResult>;
}

/** A JSON Schema document, as produced by `z.toJSONSchema`. */
export type ConfigJsonSchema = z.core.JSONSchema.BaseSchema;

/**
 * A registered action type. Implements the domain's {@link StepTypeInfo}; its config type is
 * hidden behind parsing, so definitions of different types share one list.
 */
export interface ActionDefinition extends StepTypeInfo, RunnableAction {
  readonly description: string;
  /** The retry policy used when a config sets none. */
  readonly defaultRetry: RetryPolicy;
  /** The config schema (for tooling); prefer {@link StepTypeInfo.checkConfig}. */
  readonly configSchema: z.ZodType;
  /**
   * The ports to show for the type in a catalogue: its fixed list, or for types whose ports
   * depend on the config (`switch`) the ports of an empty config, if that is valid.
   */
  readonly listedPorts: readonly PortSpec[];
  /** True when the ports depend on the config (see {@link StepTypeInfo.outputPorts}). */
  readonly dynamicPorts: boolean;
  /** How a trigger type is started; undefined for the other categories. */
  readonly start?: TriggerStart;
  /** JSON Schema of the config as an editor submits it (defaults make fields optional). */
  jsonSchema(): ConfigJsonSchema;
}

const retryFieldSchema = z.object({ retry: retryOverrideSchema.optional() });

/**
 * Builds an {@link ActionDefinition} from its declaration.
 * @throws Error when a trigger declares no `start`, or another category declares one.
 */
export const defineAction = <C extends object>(spec: ActionSpec<C>): ActionDefinition => {
  if ((spec.category === 'trigger') !== (spec.start !== undefined)) {
    throw new Error(
      spec.category === 'trigger'
        ? `Trigger type '${spec.type}' must declare how it is started (start)`
        : `Action type '${spec.type}' is not a trigger and cannot declare start`,
    );
  }
  const defaultRetry = spec.retry ?? NO_RETRY;
  const parseStored = (config: JsonObject): C | undefined => {
    const parsed = spec.config.safeParse(config);
    return parsed.success ? parsed.data : undefined;
  };
  let jsonSchemaMemo: ConfigJsonSchema | undefined;
  const hasErrorPort = spec.category === 'action';
  const withErrorPort = (ports: readonly PortSpec[]): readonly PortSpec[] =>
    !hasErrorPort || ports.some((p) => p.name === ERROR_PORT) ? ports : [...ports, { name: ERROR_PORT, required: false }];
  const fixedPorts = typeof spec.ports === 'function' ? undefined : withErrorPort(spec.ports);

  const checkConfig = (config: unknown): ConfigCheck => {
    const parsed = spec.config.safeParse(config);
    if (!parsed.success) return { ok: false, issues: toConfigIssues(parsed.error.issues) };
    const data: unknown = parsed.data;
    if (!isJsonObject(data)) return { ok: false, issues: [{ path: '', message: 'Config must be an object' }] };
    return { ok: true, config: data };
  };

  const start = spec.start === undefined ? undefined : registeredStart(spec.start, parseStored);
  return {
    type: spec.type,
    category: spec.category,
    displayName: spec.displayName,
    description: spec.description,
    defaultRetry,
    configSchema: spec.config,
    checkConfig,
    dynamicPorts: typeof spec.ports === 'function',
    ...(start === undefined ? {} : { start }),
    ...(start?.kind === 'schedule' ? { schedule: (config: JsonObject) => start.schedule(config) } : {}),
    hasErrorPort,
    get listedPorts(): readonly PortSpec[] {
      if (fixedPorts) return fixedPorts;
      const empty = checkConfig({});
      return empty.ok ? this.outputPorts(empty.config) : [];
    },
    outputPorts(config: JsonObject): readonly PortSpec[] {
      const { ports } = spec;
      if (fixedPorts || typeof ports !== 'function') return fixedPorts ?? [];
      const parsed = spec.config.safeParse(config);
      // Ports of an invalid config are unknown; config validation reports the problem itself.
      return parsed.success ? withErrorPort(ports(parsed.data)) : [];
    },
    jsonSchema(): ConfigJsonSchema {
      jsonSchemaMemo ??= z.toJSONSchema(spec.config, { io: 'input', unrepresentable: 'any' });
      return jsonSchemaMemo;
    },
    retryPolicy(config: JsonObject): RetryPolicy {
      const parsed = retryFieldSchema.safeParse(config);
      return parsed.success ? mergeRetryPolicy(defaultRetry, parsed.data.retry) : defaultRetry;
    },
    async run(invocation: ActionInvocation): Promise<ActionResult> {
      const parsed = spec.config.safeParse(invocation.config);
      if (!parsed.success) {
        throw fatal(`Config of step '${invocation.stepId}' is invalid`, {
          issues: toConfigIssues(parsed.error.issues).map((i) => ({ path: i.path, message: i.message })),
        });
      }
      const { context } = invocation;
      const instanceId = context.instance.id;
      const ctx: ActionContext<C> = {
        config: parsed.data,
        context,
        instanceId,
        stepId: invocation.stepId,
        attempt: invocation.attempt,
        resumedAfterWait: invocation.resumedAfterWait,
        arrival: invocation.resumedAfterWait ? invocation.arrival : undefined,
        signal: invocation.signal,
        beforeSideEffect: invocation.beforeSideEffect ?? (() => invocation.signal.throwIfAborted()),
        services: invocation.services,
        idempotencyKey: `${instanceId}:${invocation.stepId}`,
        render: (template) => renderTemplate(template, context),
        renderJson: (value) => renderDeep(value, context),
      };
      try {
        return await spec.run(ctx);
      } catch (err) {
        throw toActionError(err);
      }
    },
  };
};
