import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { MessagingProvider, OutgoingMessage, SentMessage } from '../ports/messaging-provider.port.js';
import { DeliveryLedger, type DeliveryLedgerOptions } from './delivery-ledger.js';
import { ProviderFailure, ProviderFailureCode } from './provider-failure.js';
import { defineMessagingVendor } from './messaging-vendor.js';
import { callVendor, DEFAULT_VENDOR_TIMEOUT_MS, isTransientStatus, type VendorResponse } from './vendor-http.js';

/** The provider name Twilio's sends are recorded under. */
export const TWILIO_PROVIDER = 'twilio';
/** Default of {@link TwilioMessagingOptions.baseUrl}. */
export const TWILIO_DEFAULT_BASE_URL = 'https://api.twilio.com';
/** Header carrying the step's idempotency key on every send. */
export const TWILIO_IDEMPOTENCY_HEADER = 'I-Twilio-Idempotency-Token';

/** Twilio error codes that mean the recipient cannot be messaged (invalid, not mobile, opted out, unreachable). */
const RECIPIENT_ERROR_CODES: ReadonlySet<number> = new Set([21211, 21610, 21612, 21614]);

/** Options of a {@link TwilioMessagingProvider}. */
export interface TwilioMessagingOptions extends DeliveryLedgerOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** E.164 sender number for SMS; SMS sends fail with `NOT_CONFIGURED` without it. */
  readonly smsFrom?: string;
  /** E.164 WhatsApp sender, with or without the `whatsapp:` prefix; WhatsApp sends fail without it. */
  readonly whatsappFrom?: string;
  /** Defaults to {@link TWILIO_DEFAULT_BASE_URL}. */
  readonly baseUrl?: string;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Time one API call may take; defaults to {@link DEFAULT_VENDOR_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

const successSchema = z.object({ sid: z.string().min(1) });
const errorSchema = z.object({ code: z.number().optional(), message: z.string().optional() });

const WHATSAPP_PREFIX = 'whatsapp:';
const withWhatsappPrefix = (address: string): string =>
  address.startsWith(WHATSAPP_PREFIX) ? address : `${WHATSAPP_PREFIX}${address}`;

/** Header values must be visible ASCII; other keys are sent as their SHA-256. */
const headerSafeKey = (key: string): string =>
  /^[\x21-\x7e]{1,128}$/.test(key) ? key : createHash('sha256').update(key).digest('hex');

/**
 * SMS and WhatsApp through Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`,
 * HTTP Basic auth, form-encoded `To`/`From`/`Body`). Every send is recorded in the outbound store
 * with provider `twilio`, and sent at most once per idempotency key (see {@link DeliveryLedger}).
 */
export class TwilioMessagingProvider implements MessagingProvider {
  private readonly ledger: DeliveryLedger;
  private readonly url: string;
  private readonly authorization: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: TwilioMessagingOptions) {
    this.ledger = new DeliveryLedger(options);
    const base = (options.baseUrl ?? TWILIO_DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.url = `${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
    this.authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
  }

  async sendMessage(message: OutgoingMessage): Promise<SentMessage> {
    const { to, from } = this.addresses(message);
    const record = await this.ledger.deliver(TWILIO_PROVIDER, message, async () => {
      const response = await callVendor({
        vendor: 'Twilio',
        fetch: this.fetch,
        url: this.url,
        method: 'POST',
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          [TWILIO_IDEMPOTENCY_HEADER]: headerSafeKey(message.idempotencyKey),
        },
        body: new URLSearchParams({ To: to, From: from, Body: message.text }).toString(),
        timeoutMs: this.timeoutMs,
      });
      if (response.status >= 200 && response.status < 300) {
        return successSchema.safeParse(response.json).data?.sid ?? null;
      }
      throw twilioFailure(response);
    });
    return { providerMessageId: record.providerMessageId ?? `twilio-${record.id}` };
  }

  private addresses(message: OutgoingMessage): { to: string; from: string } {
    if (message.channel === 'sms' && this.options.smsFrom) {
      return { to: message.to, from: this.options.smsFrom };
    }
    if (message.channel === 'whatsapp' && this.options.whatsappFrom) {
      return { to: withWhatsappPrefix(message.to), from: withWhatsappPrefix(this.options.whatsappFrom) };
    }
    throw new ProviderFailure(`No Twilio sender is configured for ${message.channel}`, {
      code: ProviderFailureCode.NOT_CONFIGURED,
      retryable: false,
    });
  }
}

/** Maps a non-2xx answer: the vendor answered, so nothing was sent either way. */
function twilioFailure(response: VendorResponse): ProviderFailure {
  const { status } = response;
  const error = errorSchema.safeParse(response.json).data;
  const detail = [`HTTP ${status}`, error?.code === undefined ? undefined : `code ${error.code}`]
    .filter((part) => part !== undefined)
    .join(', ');
  const message = `Twilio refused the message (${detail})${error?.message ? `: ${error.message}` : ''}`;
  if (isTransientStatus(status)) {
    return new ProviderFailure(message, {
      code: status === 429 ? ProviderFailureCode.RATE_LIMITED : ProviderFailureCode.PROVIDER_UNAVAILABLE,
      retryable: true,
      status,
    });
  }
  let code: ProviderFailureCode = ProviderFailureCode.PROVIDER_REJECTED;
  if (status === 401 || status === 403) code = ProviderFailureCode.AUTH_FAILED;
  else if (error?.code !== undefined && RECIPIENT_ERROR_CODES.has(error.code)) code = ProviderFailureCode.RECIPIENT_INVALID;
  return new ProviderFailure(message, { code, retryable: false, status });
}

/** Twilio's environment variables. */
const twilioSettings = z
  .object({
    TWILIO_ACCOUNT_SID: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Twilio account SID; with TWILIO_AUTH_TOKEN, Twilio carries SMS and WhatsApp (otherwise the sandbox records them).' }),
    TWILIO_AUTH_TOKEN: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Twilio auth token: signs API calls, and checks X-Twilio-Signature on POST /inbound/twilio.' }),
    TWILIO_SMS_FROM: z.string().min(1).optional().meta({ description: 'E.164 SMS sender; without it SMS sends fail with NOT_CONFIGURED.' }),
    TWILIO_WHATSAPP_FROM: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'E.164 WhatsApp sender (whatsapp: prefix optional); without it WhatsApp sends fail with NOT_CONFIGURED.' }),
    TWILIO_BASE_URL: z.url().default(TWILIO_DEFAULT_BASE_URL).meta({ description: "Origin of Twilio's API." }),
  })
  .superRefine((s, ctx) => {
    if (Boolean(s.TWILIO_ACCOUNT_SID) !== Boolean(s.TWILIO_AUTH_TOKEN)) {
      ctx.addIssue({
        code: 'custom',
        path: [s.TWILIO_ACCOUNT_SID ? 'TWILIO_AUTH_TOKEN' : 'TWILIO_ACCOUNT_SID'],
        message: 'set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither',
      });
    }
  });

/** Twilio as a messaging vendor: SMS and WhatsApp, once its account credentials are set. */
export const twilioVendor = defineMessagingVendor({
  name: TWILIO_PROVIDER,
  displayName: 'Twilio',
  channels: ['sms', 'whatsapp'],
  settings: twilioSettings,
  create: (s, deps) =>
    s.TWILIO_ACCOUNT_SID && s.TWILIO_AUTH_TOKEN
      ? new TwilioMessagingProvider({
          ...deps,
          accountSid: s.TWILIO_ACCOUNT_SID,
          authToken: s.TWILIO_AUTH_TOKEN,
          smsFrom: s.TWILIO_SMS_FROM,
          whatsappFrom: s.TWILIO_WHATSAPP_FROM,
          baseUrl: s.TWILIO_BASE_URL,
        })
      : undefined,
});
