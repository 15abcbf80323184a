import { z } from 'zod';
import { ERROR_PORT } from '../domain/graph.js';
import type { JsonObject, JsonValue } from '../domain/json.js';
import { isJsonObject } from '../domain/json.js';
import { mergeRetryPolicy, NO_RETRY, retryOverrideSchema, type RetryPolicy } from '../domain/retry-policy.js';
import type { RunContext } from '../domain/run-context.js';
import type { ConfigCheck, PortSpec, StepCategory, StepTypeInfo } from '../domain/step-type-catalog.js';
import { renderDeep, renderTemplate } from '../domain/template.js';
import type { Clock } from '../ports/clock.port.js';
import type { HttpClient } from '../ports/http-client.port.js';
import type { MessagingChannel, MessagingProvider } from '../ports/messaging-provider.port.js';
import { fatal, toActionError } from './action-error.js';
import { toConfigIssues } from './config-issues.js';

/**
 * What a step's run decided.
 * - `continue`: follow the edge on `port` (no edge there ends this path quietly).
 * - `wait`: park the step until `until`; the engine then runs it again with
 *   `resumedAfterWait: true`.
 * - `complete`: end this path of the run.
 *
 * `output` is recorded as `steps.<stepId>.output` for later steps.
 */
export type ActionResult =
  | { readonly kind: 'continue'; readonly port: string; readonly output: JsonValue }
  | { readonly kind: 'wait'; readonly until: Date; readonly output: JsonValue }
  | { readonly kind: 'complete'; readonly output: JsonValue };

/** The side effects an action may use, all behind ports. */
export interface ActionServices {
  /** The provider for a channel; throws (ideally a non-retryable `PortFailure`) when none is set up. */
  messaging(channel: MessagingChannel): MessagingProvider;
  readonly http: HttpClient;
  readonly clock: Clock;
}

/** What the engine hands to {@link ActionDefinition.run} for one attempt of one step. */
export interface ActionInvocation {
  /** The step's stored config; parsed again by the definition before use. */
  readonly config: JsonObject;
  readonly context: RunContext;
  readonly stepId: string;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  /** True when this run follows a `wait` result of the same step. */
  readonly resumedAfterWait: boolean;
  /** Aborted when the engine gives up on the attempt (timeout, shutdown, lease lost). */
  readonly signal: AbortSignal;
  /**
   * Throws when this attempt may no longer act on the world (its lease ran out or was taken over).
   * Pass it as `beforeSend` to every port call that has an effect outside the engine; defaults to
   * a check of `signal` alone.
   */
  readonly beforeSideEffect?: () => void;
  readonly services: ActionServices;
}

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
  run(ctx: ActionContext<C>): Promise<ActionResult>;
}

/** A JSON Schema document, as produced by `z.toJSONSchema`. */
export type ConfigJsonSchema = z.core.JSONSchema.BaseSchema;

/**
 * A registered action type. Implements the domain's {@link StepTypeInfo}; its config type is
 * hidden behind parsing, so definitions of different types share one list.
 */
export interface ActionDefinition extends StepTypeInfo {
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
  /**
   * True when a failed step of this type follows its `error` edge (if it has one) instead of
   * failing its instance: the action steps, whose failures come from the world outside.
   */
  readonly hasErrorPort: boolean;
  /** JSON Schema of the config as an editor submits it (defaults make fields optional). */
  jsonSchema(): ConfigJsonSchema;
  /** The effective retry policy for a step with this config. */
  retryPolicy(config: JsonObject): RetryPolicy;
  /**
   * Runs one attempt. Rejects only with `ActionError`; a config that no longer parses is a
   * non-retryable `ActionError`.
   */
  run(invocation: ActionInvocation): Promise<ActionResult>;
}

const retryFieldSchema = z.object({ retry: retryOverrideSchema.optional() });

/** Builds an {@link ActionDefinition} from its declaration. */
export const defineAction = <C extends object>(spec: ActionSpec<C>): ActionDefinition => {
  const defaultRetry = spec.retry ?? NO_RETRY;
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

  return {
    type: spec.type,
    category: spec.category,
    displayName: spec.displayName,
    description: spec.description,
    defaultRetry,
    configSchema: spec.config,
    checkConfig,
    dynamicPorts: typeof spec.ports === 'function',
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
