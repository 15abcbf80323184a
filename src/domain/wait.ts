import type { Condition } from './condition.js';
import type { JsonValue } from './json.js';

/**
 * Why a step (and its instance) is WAITING: for its due time (`timer`: a delay), for an event sent
 * with `sendEvent` (`event`), or for an inbound message (`message`).
 */
export const WAIT_REASONS = ['timer', 'event', 'message'] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

/**
 * What a waiting step can be woken by before its due time; without one, only its due time ends
 * the wait (a timer). Matched only within the waiting instance's workspace.
 */
export type WaitTarget =
  | {
      readonly reason: 'event';
      /** The event name, as `sendEvent(name)` gives it. */
      readonly name: string;
      /** The correlation key, rendered when the step began to wait. */
      readonly key: string;
    }
  | {
      readonly reason: 'message';
      /** The inbound channel (instagram, whatsapp, sms). */
      readonly channel: string;
      /** The sender to wait for, as the channel names senders (`trigger.message.from`). */
      readonly contact: string;
      /**
       * Only a message for which this holds ends the wait. Bound when the step began to wait (see
       * bindCondition): it reads nothing but the message, as `steps.<stepId>.output`.
       */
      readonly when?: Condition;
      /** The step that waits: the message is its output, where the condition reads it. */
      readonly stepId: string;
      /**
       * Whether the message may also start workflows its channel triggers (by default it does not):
       * the step's `alsoStartWorkflows`, or its workflow version's `repliesAlsoStartWorkflows`.
       */
      readonly alsoStartsWorkflows: boolean;
    };

/**
 * What ended a wait before its due time, as stored on the step run: the step's next attempt reads
 * it (see `ActionInvocation.arrival`). Absent when the due time ended the wait.
 */
export interface WaitArrival {
  readonly reason: 'event' | 'message';
  readonly payload: JsonValue;
  /** When it arrived (ISO-8601). */
  readonly at: string;
}

/** Longest event name, in characters. */
export const MAX_EVENT_NAME_CHARS = 100;
/** Longest correlation key, in characters. */
export const MAX_EVENT_KEY_CHARS = 256;

/** C0 and C1 control characters and DEL: never part of a name or key (they hide in logs and UIs). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why an event name or correlation key is refused, or undefined when it is fine: 1 to the limit's
 * characters, no control characters, no spaces at either end (a copied key that differs from the
 * waited one only by a trailing space would never match, silently).
 */
export function eventFieldProblem(field: 'name' | 'key', value: string): string | undefined {
  const max = field === 'name' ? MAX_EVENT_NAME_CHARS : MAX_EVENT_KEY_CHARS;
  const what = field === 'name' ? 'An event name' : 'A correlation key';
  if (value.length === 0) return `${what} must not be empty`;
  if (value.length > max) return `${what} has at most ${max} characters (this one has ${value.length})`;
  if (CONTROL.test(value)) return `${what} must not contain control characters`;
  if (value.trim() !== value) return `${what} must not begin or end with spaces`;
  return undefined;
}
