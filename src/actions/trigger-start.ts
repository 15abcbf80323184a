import type { JsonObject } from '../domain/json.js';
import type { Schedule } from '../domain/schedule.js';
import type { InboundMessage } from '../ports/inbound-delivery.store.port.js';
import type { InboundChannel } from '../ports/inbound-message.store.port.js';

/**
 * How a trigger type is started, as its declaration (`defineAction({ start })`) says. Ingress
 * asks the registry (see {@link TriggerCatalog}) instead of knowing trigger types by name, so a new
 * trigger type is one file and one registry line. Any trigger can also be started by the
 * `startWorkflow` mutation, with the input its caller gives.
 * - `manual`: only by `startWorkflow` (the API and the editor).
 * - `webhook`: also by a call to the workflow's webhook URL (`POST /hooks/:token`).
 * - `inbound`: also by a text message the inbound endpoints receive on `channel(config)` for
 *   which `matches(config, message)` holds, in every workspace (see `InboundDispatcher`).
 * - `schedule`: also at each tick of `schedule(config)`, once per tick whatever the number of
 *   workers (see `ScheduleTicker`); publishing schedules the workflow, archiving unschedules it.
 */
export type TriggerStartSpec<C> =
  | { readonly kind: 'manual' }
  | { readonly kind: 'webhook' }
  | {
      readonly kind: 'inbound';
      /** The channel whose messages may start it: the trigger index looks workflows up by it. */
      channel(config: C): InboundChannel;
      /** Whether a message on that channel starts a run; pure and cheap (it runs per message and workflow). */
      matches(config: C, message: InboundMessage): boolean;
    }
  | {
      readonly kind: 'schedule';
      /** The ticks of a valid config; pure, so that every process computes the same ones. */
      schedule(config: C): Schedule;
    };

export type TriggerStartKind = TriggerStartSpec<object>['kind'];

/** How an inbound trigger of a registered type is started, its config parsed behind it. */
export interface InboundTriggerStart {
  readonly kind: 'inbound';
  /** The channel of a stored config; undefined when the config no longer parses. */
  channel(config: JsonObject): InboundChannel | undefined;
  /** The test for messages of a stored config, parsed once; undefined when it no longer parses. */
  matcher(config: JsonObject): ((message: InboundMessage) => boolean) | undefined;
}

/** How a trigger type started on a schedule is started, its config parsed behind it. */
export interface ScheduleTriggerStart {
  readonly kind: 'schedule';
  /** The ticks of a stored config; undefined when it no longer parses. */
  schedule(config: JsonObject): Schedule | undefined;
}

/** {@link TriggerStartSpec} of a registered trigger type. */
export type TriggerStart = { readonly kind: 'manual' } | { readonly kind: 'webhook' } | InboundTriggerStart | ScheduleTriggerStart;

/** A trigger type started by inbound messages. */
export interface InboundTrigger {
  readonly type: string;
  readonly start: InboundTriggerStart;
}

/** What ingress asks the action registry about trigger types. */
export interface TriggerCatalog {
  /** How a type is started; undefined for an unknown type or one that is not a trigger. */
  startOf(type: string): TriggerStart | undefined;
  /** The trigger types inbound messages start, in registration order. */
  inboundTriggers(): readonly InboundTrigger[];
}

/** The registered form of a declaration's `start`, parsing stored configs with `parse`. */
export function registeredStart<C>(
  spec: TriggerStartSpec<C>,
  parse: (config: JsonObject) => C | undefined,
): TriggerStart {
  if (spec.kind === 'schedule') {
    return {
      kind: 'schedule',
      schedule(config) {
        const parsed = parse(config);
        return parsed === undefined ? undefined : spec.schedule(parsed);
      },
    };
  }
  if (spec.kind !== 'inbound') return spec;
  return {
    kind: 'inbound',
    channel(config) {
      const parsed = parse(config);
      return parsed === undefined ? undefined : spec.channel(parsed);
    },
    matcher(config) {
      const parsed = parse(config);
      return parsed === undefined ? undefined : (message) => spec.matches(parsed, message);
    },
  };
}
