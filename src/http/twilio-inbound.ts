import { hmac, macMatches } from './hmac.js';
import type { InboundMessage } from './inbound-message.js';

/** The header Twilio signs webhook requests with. */
export const TWILIO_SIGNATURE_HEADER = 'X-Twilio-Signature';

const WHATSAPP_PREFIX = 'whatsapp:';

/**
 * Twilio's request signature: base64 HMAC-SHA1, keyed with the auth token, of the full URL Twilio
 * called followed by every POST parameter name and value, names sorted (repeated names: each
 * distinct value, sorted), with no separators.
 */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const parts: string[] = [url];
  for (const name of [...new Set(params.keys())].sort()) {
    for (const value of [...new Set(params.getAll(name))].sort()) parts.push(name, value);
  }
  return hmac('sha1', authToken, parts).toString('base64');
}

export function twilioSignatureValid(args: {
  authToken: string;
  url: string;
  params: URLSearchParams;
  header: string | undefined;
}): boolean {
  if (!args.header) return false;
  const expected = Buffer.from(twilioSignature(args.authToken, args.url, args.params), 'base64');
  return macMatches(expected, args.header.trim(), 'base64');
}

/**
 * The message of Twilio's incoming-message webhook: `whatsapp:`-prefixed addresses are WhatsApp,
 * plain numbers SMS. Undefined for what is not a text message we handle: no `MessageSid` or
 * `From`, an empty `Body` (media only), or another channel's prefix (`messenger:`, `rcs:`...).
 */
export function twilioMessage(params: URLSearchParams, receivedAt: Date): InboundMessage | undefined {
  const sid = params.get('MessageSid') ?? params.get('SmsMessageSid');
  const from = params.get('From');
  const to = params.get('To') ?? '';
  const text = params.get('Body') ?? '';
  if (!sid || !from || text === '') return undefined;
  const whatsapp = from.startsWith(WHATSAPP_PREFIX);
  if (!whatsapp && /^[a-z]+:/i.test(from)) return undefined;
  const strip = (address: string) => (address.startsWith(WHATSAPP_PREFIX) ? address.slice(WHATSAPP_PREFIX.length) : address);
  return {
    provider: 'twilio',
    channel: whatsapp ? 'whatsapp' : 'sms',
    from: strip(from),
    to: strip(to),
    text,
    providerMessageId: sid,
    receivedAt,
  };
}
