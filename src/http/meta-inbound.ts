import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { z } from 'zod';
import type { JsonValue } from '../domain/json.js';
import { hmac, macMatches } from './hmac.js';
import type { InboundMessage } from './inbound-message.js';

/** The header Meta signs webhook deliveries with: `sha256=<hex HMAC-SHA256(app secret, body)>`. */
export const META_SIGNATURE_HEADER = 'X-Hub-Signature-256';

/** Whether a delivery's X-Hub-Signature-256 matches its exact body bytes. */
export function metaSignatureValid(appSecret: string, header: string | undefined, body: Buffer): boolean {
  const match = /^sha256=([0-9a-fA-F]+)$/.exec(header?.trim() ?? '');
  return Boolean(match) && macMatches(hmac('sha256', appSecret, [body]), match![1]!, 'hex');
}

/**
 * An array whose items are checked one at a time below: `z.array` would walk (and copy) all of a
 * delivery's thousands of items in one go before the loop could give the event loop a turn.
 */
const itemsCheckedLater = z.custom<unknown[]>((value) => Array.isArray(value), 'Expected an array');

const id = z.string().min(1).max(1_000);
const text = z.string().min(1).max(100_000);

/** One Instagram messaging event; only text messages that are not our own echoes are used. */
const instagramEvent = z.object({
  sender: z.object({ id }),
  recipient: z.object({ id }),
  message: z
    .object({ mid: id, text: text.optional(), is_echo: z.boolean().optional(), is_deleted: z.boolean().optional() })
    .optional(),
});

const whatsappValue = z.object({
  metadata: z.object({ display_phone_number: z.string().optional(), phone_number_id: z.string().optional() }).optional(),
  messages: itemsCheckedLater.optional(),
});
const whatsappMessage = z.object({ from: id, id, type: z.string(), text: z.object({ body: text }).optional() });

const notification = z.object({ object: z.string(), entry: itemsCheckedLater.default([]) });

const notificationEntry = z.object({ messaging: itemsCheckedLater.optional(), changes: itemsCheckedLater.optional() });

const change = z.object({ field: z.string().optional(), value: z.unknown() });

/** Entries and events checked between two turns of the event loop: a delivery can hold thousands. */
const CHECKS_PER_TURN = 100;

/** WhatsApp ids are digits without the plus; the rest of the product speaks E.164. */
const e164 = (waId: string): string => (/^\d+$/.test(waId) ? `+${waId}` : waId);

/** What a Meta delivery held: its text messages, and how many events were not text messages. */
export interface MetaDelivery {
  readonly messages: InboundMessage[];
  readonly ignored: number;
}

/**
 * The text messages of a Meta webhook delivery (Instagram `object: "instagram"`, WhatsApp
 * `object: "whatsapp_business_account"`). Everything else — other objects, echoes of our own
 * sends, reads, reactions, media without text, WhatsApp status updates — is counted as ignored,
 * so Meta gets its 200 and does not redeliver. Undefined when the body is not a Meta notification
 * (an entry that is not an object included). Gives the event loop a turn every
 * {@link CHECKS_PER_TURN} entries and events.
 */
export async function parseMetaDelivery(body: JsonValue, receivedAt: Date): Promise<MetaDelivery | undefined> {
  const parsed = notification.safeParse(body);
  if (!parsed.success) return undefined;
  let checks = 0;
  const turn = async () => {
    if (++checks % CHECKS_PER_TURN === 0) await yieldToEventLoop();
  };
  const messages: InboundMessage[] = [];
  let ignored = 0;
  const base = { provider: 'meta', receivedAt } as const;
  for (const rawEntry of parsed.data.entry) {
    await turn();
    const parsedEntry = notificationEntry.safeParse(rawEntry);
    if (!parsedEntry.success) return undefined;
    const entry = parsedEntry.data;
    const changes: z.infer<typeof change>[] = [];
    for (const raw of entry.changes ?? []) {
      await turn();
      const parsedChange = change.safeParse(raw);
      if (!parsedChange.success) return undefined;
      changes.push(parsedChange.data);
    }
    if (parsed.data.object === 'instagram') {
      // Instagram delivers messages in `messaging`; the Instagram-login API uses `changes` of field "messages".
      const events = [
        ...(entry.messaging ?? []),
        ...changes.filter((c) => c.field === 'messages').map((c) => c.value),
      ];
      for (const raw of events) {
        await turn();
        const event = instagramEvent.safeParse(raw);
        const m = event.success ? event.data.message : undefined;
        if (!event.success || !m || m.text === undefined || m.is_echo || m.is_deleted) {
          ignored++;
          continue;
        }
        messages.push({
          ...base,
          channel: 'instagram',
          from: event.data.sender.id,
          to: event.data.recipient.id,
          text: m.text,
          providerMessageId: m.mid,
        });
      }
    } else if (parsed.data.object === 'whatsapp_business_account') {
      for (const { field, value: rawValue } of changes) {
        await turn();
        const value = whatsappValue.safeParse(rawValue);
        const checked: z.infer<typeof whatsappMessage>[] = [];
        let wellFormed = field === 'messages' && value.success;
        for (const raw of (value.success ? value.data.messages : undefined) ?? []) {
          if (!wellFormed) break;
          await turn();
          const m = whatsappMessage.safeParse(raw);
          if (m.success) checked.push(m.data);
          else wellFormed = false;
        }
        // A change with any malformed message is ignored whole, as one event.
        if (!wellFormed || !value.success) {
          ignored++;
          continue;
        }
        const to = value.data.metadata?.display_phone_number ?? value.data.metadata?.phone_number_id ?? '';
        for (const m of checked) {
          if (m.type !== 'text' || !m.text) {
            ignored++;
            continue;
          }
          messages.push({ ...base, channel: 'whatsapp', from: e164(m.from), to: e164(to), text: m.text.body, providerMessageId: m.id });
        }
      }
    } else {
      ignored++;
    }
  }
  return { messages, ignored };
}
