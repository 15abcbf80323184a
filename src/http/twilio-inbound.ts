import { createHash } from 'node:crypto';
import { parseFormBody } from './form-body.js';
import { hmac, macMatches } from './hmac.js';
import { HttpError, HttpErrorCode } from './http-error.js';
import type { InboundMessage } from './inbound-message.js';

/** The header Twilio signs webhook requests with. */
export const TWILIO_SIGNATURE_HEADER = 'X-Twilio-Signature';

/**
 * Most parameters a Twilio delivery may carry (body-parser's default `parameterLimit`). Twilio's
 * incoming-message requests carry a few dozen; the cap bounds the work an unsigned body can cause
 * before its signature is checked, whatever the body limit.
 */
export const MAX_TWILIO_PARAMETERS = 1000;

const WHATSAPP_PREFIX = 'whatsapp:';
const AMPERSAND = 0x26;

/** A Twilio delivery's form body, parsed once: each parameter name with its values in the order sent. */
export class TwilioForm {
  private constructor(private readonly byName: ReadonlyMap<string, readonly string[]>) {}

  /**
   * Parses an `application/x-www-form-urlencoded` body (see parseFormBody); 413 PAYLOAD_TOO_LARGE past
   * {@link MAX_TWILIO_PARAMETERS} parameters, counted on the raw bytes before anything is decoded.
   */
  static async parse(raw: Buffer): Promise<TwilioForm> {
    let parameters = 1;
    for (let at = raw.indexOf(AMPERSAND); at !== -1; at = raw.indexOf(AMPERSAND, at + 1)) {
      if (++parameters > MAX_TWILIO_PARAMETERS) {
        throw new HttpError(HttpErrorCode.PAYLOAD_TOO_LARGE, `A Twilio delivery has at most ${MAX_TWILIO_PARAMETERS} parameters`);
      }
    }
    const byName = new Map<string, string[]>();
    for (const [name, value] of await parseFormBody(raw)) {
      const values = byName.get(name);
      if (values) values.push(value);
      else byName.set(name, [value]);
    }
    return new TwilioForm(byName);
  }

  /** The first value of a parameter. */
  get(name: string): string | undefined {
    return this.byName.get(name)?.[0];
  }

  *values(): Iterable<string> {
    for (const values of this.byName.values()) yield* values;
  }

  /**
   * Hex SHA-256 of the parameters as parsed, names and values kept apart: equal for two bodies
   * only when they carry the same parameters, wherever their bytes would concatenate alike.
   */
  contentDigest(): string {
    const entries = [...this.byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
  }

  /**
   * What Twilio signs after the URL: every name and value, names sorted (repeated names: each
   * distinct value, sorted), with no separators. Sorting is the only step above linear, over at
   * most {@link MAX_TWILIO_PARAMETERS} entries.
   */
  signedParts(): string[] {
    const parts: string[] = [];
    for (const name of [...this.byName.keys()].sort()) {
      for (const value of [...new Set(this.byName.get(name))].sort()) parts.push(name, value);
    }
    return parts;
  }
}

/**
 * Twilio's request signature: base64 HMAC-SHA1, keyed with the auth token, of the full URL Twilio
 * called followed by {@link TwilioForm.signedParts}.
 */
export function twilioSignature(authToken: string, url: string, form: TwilioForm): string {
  return hmac('sha1', authToken, [url, ...form.signedParts()]).toString('base64');
}

/**
 * Hex SHA-256 of the string Twilio signs for this request. Two requests with the same signed
 * string carry the same valid signature, however their parameters are split.
 */
export function twilioSignedDigest(url: string, form: TwilioForm): string {
  const hash = createHash('sha256').update(url);
  for (const part of form.signedParts()) hash.update(part);
  return hash.digest('hex');
}

export function twilioSignatureValid(args: {
  authToken: string;
  url: string;
  form: TwilioForm;
  header: string | undefined;
}): boolean {
  if (!args.header) return false;
  const expected = Buffer.from(twilioSignature(args.authToken, args.url, args.form), 'base64');
  return macMatches(expected, args.header.trim(), 'base64');
}

/**
 * The message of Twilio's incoming-message webhook: `whatsapp:`-prefixed addresses are WhatsApp,
 * plain numbers SMS. Undefined for what is not a text message we handle: no `MessageSid` or
 * `From`, an empty `Body` (media only), or another channel's prefix (`messenger:`, `rcs:`...).
 */
export function twilioMessage(form: TwilioForm, receivedAt: Date): InboundMessage | undefined {
  const sid = form.get('MessageSid') ?? form.get('SmsMessageSid');
  const from = form.get('From');
  const to = form.get('To') ?? '';
  const text = form.get('Body') ?? '';
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
