import { z } from 'zod';
import { NEXT_PORT } from '../domain/graph.js';
import { INBOUND_CHANNELS } from '../ports/inbound-message.store.port.js';
import { defineAction } from './action-definition.js';
import { TRIGGER_PORTS } from './trigger-ports.js';

/** How the keyword is compared with an incoming message's text. */
export const KEYWORD_MATCH_MODES = ['contains', 'equals', 'startsWith'] as const;
export type KeywordMatchMode = (typeof KEYWORD_MATCH_MODES)[number];

/** Config of `trigger.incomingMessage`. Without `keyword`, every message on the channel matches. */
export const incomingMessageConfigSchema = z.strictObject({
  channel: z.enum(INBOUND_CHANNELS).meta({ title: 'Channel', description: 'The channel whose incoming messages start the workflow.' }),
  keyword: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .meta({
      title: 'Keyword',
      description: 'Start only for messages with this text (surrounding spaces ignored); without it, every message on the channel starts the workflow.',
    })
    .optional(),
  match: z
    .enum(KEYWORD_MATCH_MODES)
    .default('contains')
    .meta({ title: 'Match', description: 'How the keyword is compared with the message text.' }),
  ignoreCase: z.boolean().default(true).meta({ title: 'Ignore case', description: 'Compare the keyword case-insensitively.' }),
});
export type IncomingMessageConfig = z.infer<typeof incomingMessageConfigSchema>;

/**
 * Whether a message text starts a run of a workflow with this trigger config (the channel is
 * matched by the trigger index).
 * Surrounding whitespace of the text is ignored.
 */
export const matchesIncomingMessage = (config: IncomingMessageConfig, text: string): boolean => {
  if (config.keyword === undefined) return true;
  const fold = (s: string) => (config.ignoreCase ? s.toLowerCase() : s);
  const haystack = fold(text.trim());
  const needle = fold(config.keyword);
  switch (config.match) {
    case 'contains':
      return haystack.includes(needle);
    case 'equals':
      return haystack === needle;
    case 'startsWith':
      return haystack.startsWith(needle);
  }
};

/** Starts a run when a message arrives on a channel (optionally only when it has a keyword). */
export const triggerIncomingMessageAction = defineAction({
  type: 'trigger.incomingMessage',
  category: 'trigger',
  displayName: 'Incoming message',
  description: 'Starts the workflow when a message arrives on Instagram, WhatsApp or SMS.',
  config: incomingMessageConfigSchema,
  ports: TRIGGER_PORTS,
  start: {
    kind: 'inbound',
    channel: (config) => config.channel,
    matches: (config, message) => matchesIncomingMessage(config, message.text),
  },
  async run(ctx) {
    return { kind: 'continue', port: NEXT_PORT, output: ctx.context.trigger };
  },
});
