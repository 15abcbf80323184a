import { z } from 'zod';
import { MAX_DUE_STEPS_PER_NOTIFICATION, type BusNotification } from '../ports/event-bus.port.js';

/** Identifiers are opaque here: the bus carries them, subscribers look them up. */
const id = z.string().min(1);

const runNotificationSchema = z.object({
  kind: z.literal('run'),
  workspaceId: id,
  workflowId: id,
  instanceId: id,
  seq: z.number().int().nonnegative(),
  // xid8 as a decimal string: it can exceed Number.MAX_SAFE_INTEGER.
  xid: z.string().regex(/^\d+$/, 'must be a decimal transaction id'),
});

const draftNotificationSchema = z.object({
  kind: z.literal('draft'),
  workspaceId: id,
  workflowId: id,
  draftRevision: z.number().int().nonnegative(),
  change: z.enum(['EDIT', 'UNDO', 'REDO', 'PUBLISH', 'ARCHIVE', 'DELETE']),
  label: z.string(),
  actorKeyId: id,
  at: z.iso.datetime({ offset: true }),
});

const keyRevokedNotificationSchema = z.object({
  kind: z.literal('key-revoked'),
  workspaceId: id,
  apiKeyId: id,
});

const stepsDueNotificationSchema = z.object({
  kind: z.literal('steps-due'),
  stepRunIds: z.array(id).min(1).max(MAX_DUE_STEPS_PER_NOTIFICATION).readonly(),
});

/**
 * A {@link BusNotification} as it crosses a process boundary. Unknown extra fields are stripped
 * rather than refused, so a newer process can add a field without older ones dropping its notifications.
 */
export const busNotificationSchema = z.discriminatedUnion('kind', [
  runNotificationSchema,
  draftNotificationSchema,
  keyRevokedNotificationSchema,
  stepsDueNotificationSchema,
]);

// Fails to compile when the schema and the port's type drift apart, in either direction.
type Equivalent<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesPort: Equivalent<z.output<typeof busNotificationSchema>, BusNotification> = true;
void schemaMatchesPort;

/** The outcome of reading one raw payload: the notification, or why it was refused. */
export type NotificationParseResult =
  | { readonly ok: true; readonly notification: BusNotification }
  | { readonly ok: false; readonly reason: string };

/** Checks a value that claims to be a notification (already decoded from JSON). */
export function parseBusNotification(value: unknown): NotificationParseResult {
  const parsed = busNotificationSchema.safeParse(value);
  return parsed.success
    ? { ok: true, notification: parsed.data }
    : { ok: false, reason: z.prettifyError(parsed.error) };
}

/** Decodes and checks a raw payload as received from another process (JSON text). */
export function parseBusNotificationPayload(payload: string): NotificationParseResult {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return parseBusNotification(value);
}
