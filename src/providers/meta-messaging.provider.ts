import { z } from 'zod';
import type {
  LikeMessageRequest,
  MessagingProvider,
  OutgoingMessage,
  SentMessage,
} from '../ports/messaging-provider.port.js';
import { DeliveryLedger, type DeliveryLedgerOptions } from './delivery-ledger.js';
import { ProviderFailure, ProviderFailureCode } from './provider-failure.js';
import { defineMessagingVendor } from './messaging-vendor.js';
import { callVendor, DEFAULT_VENDOR_TIMEOUT_MS, isTransientStatus, type VendorResponse } from './vendor-http.js';

/** The provider name Meta's sends are recorded under. */
export const META_PROVIDER = 'meta';
/** Default of {@link MetaMessagingOptions.baseUrl}. */
export const META_DEFAULT_BASE_URL = 'https://graph.facebook.com';
/** Default of {@link MetaMessagingOptions.version}. */
export const META_DEFAULT_GRAPH_VERSION = 'v21.0';
/** The reaction a like sends. */
export const META_LIKE_REACTION = 'love';

/** Graph error codes of rate limiting (application, user, page, policy). */
const RATE_LIMIT_CODES: ReadonlySet<number> = new Set([4, 17, 32, 613]);
/** Graph error codes of temporary trouble on Meta's side. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2]);
const INVALID_TOKEN_CODE = 190;
const PERMISSION_CODE = 10;
const OUTSIDE_WINDOW_SUBCODE = 2018278;
const NO_MATCHING_USER_SUBCODE = 2018001;
const USER_UNAVAILABLE_CODE = 551;

/** Options of a {@link MetaMessagingProvider}. */
export interface MetaMessagingOptions extends DeliveryLedgerOptions {
  /** Page (or Instagram user) access token, sent as a bearer token. */
  readonly pageAccessToken: string;
  /** The Instagram professional account's id; `me` (the token's account) when absent. */
  readonly igUserId?: string;
  /** Defaults to {@link META_DEFAULT_BASE_URL}. */
  readonly baseUrl?: string;
  /** Defaults to {@link META_DEFAULT_GRAPH_VERSION}. */
  readonly version?: string;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Time one API call may take; defaults to {@link DEFAULT_VENDOR_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/**
 * A like, optionally naming whom the liked message came from. Meta's reference shows
 * `recipient.id` (the sender's Instagram-scoped id) on reactions; it is sent when given.
 */
export interface MetaLikeRequest extends LikeMessageRequest {
  readonly recipientId?: string;
}

const successSchema = z.object({ message_id: z.string().min(1) });
const errorSchema = z.object({
  error: z.object({
    message: z.string().optional(),
    code: z.number().optional(),
    error_subcode: z.number().optional(),
    is_transient: z.boolean().optional(),
  }),
});

/**
 * Instagram direct messages and likes through the Graph API's Send API
 * (`POST /{version}/{ig-user-id|me}/messages`, bearer token, JSON). Every call is recorded in
 * the outbound store with provider `meta`, and made at most once per idempotency key
 * (see {@link DeliveryLedger}); the Send API itself has no idempotency key.
 */
export class MetaMessagingProvider implements MessagingProvider {
  private readonly ledger: DeliveryLedger;
  private readonly url: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: MetaMessagingOptions) {
    this.ledger = new DeliveryLedger(options);
    const base = (options.baseUrl ?? META_DEFAULT_BASE_URL).replace(/\/+$/, '');
    const version = encodeURIComponent(options.version ?? META_DEFAULT_GRAPH_VERSION);
    this.url = `${base}/${version}/${encodeURIComponent(options.igUserId ?? 'me')}/messages`;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
  }

  async sendMessage(message: OutgoingMessage): Promise<SentMessage> {
    if (message.channel !== 'instagram') {
      throw new ProviderFailure(`Meta does not carry ${message.channel} messages here`, {
        code: ProviderFailureCode.NOT_CONFIGURED,
        retryable: false,
      });
    }
    const record = await this.ledger.deliver(META_PROVIDER, message, async () => {
      const response = await this.post({ recipient: { id: message.to }, message: { text: message.text } });
      return successSchema.safeParse(response.json).data?.message_id ?? null;
    });
    return { providerMessageId: record.providerMessageId ?? `meta-${record.id}` };
  }

  async likeMessage(request: MetaLikeRequest): Promise<void> {
    await this.ledger.deliver(META_PROVIDER, request, async () => {
      await this.post({
        ...(request.recipientId === undefined ? {} : { recipient: { id: request.recipientId } }),
        sender_action: 'react',
        payload: { message_id: request.messageId, reaction: META_LIKE_REACTION },
      });
      return null;
    });
  }

  /** POSTs to the Send API; resolves with 2xx answers, rejects with a mapped failure otherwise. */
  private async post(body: object): Promise<VendorResponse> {
    const response = await callVendor({
      vendor: 'Meta',
      fetch: this.fetch,
      url: this.url,
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.options.pageAccessToken}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(body),
      timeoutMs: this.timeoutMs,
    });
    if (response.status >= 200 && response.status < 300) return response;
    throw metaFailure(response);
  }
}

/** Maps a non-2xx answer: the vendor answered, so nothing was sent either way. */
function metaFailure(response: VendorResponse): ProviderFailure {
  const { status } = response;
  const error = errorSchema.safeParse(response.json).data?.error;
  const code = error?.code;
  const subcode = error?.error_subcode;
  const detail = [`HTTP ${status}`, code === undefined ? undefined : `code ${code}`, subcode === undefined ? undefined : `subcode ${subcode}`]
    .filter((part) => part !== undefined)
    .join(', ');
  const message = `Meta refused the request (${detail})${error?.message ? `: ${error.message}` : ''}`;

  const rateLimited = status === 429 || (code !== undefined && RATE_LIMIT_CODES.has(code));
  if (rateLimited) return new ProviderFailure(message, { code: ProviderFailureCode.RATE_LIMITED, retryable: true, status });
  if (isTransientStatus(status) || error?.is_transient === true || (code !== undefined && TRANSIENT_CODES.has(code))) {
    return new ProviderFailure(message, { code: ProviderFailureCode.PROVIDER_UNAVAILABLE, retryable: true, status });
  }
  let failureCode: ProviderFailureCode = ProviderFailureCode.PROVIDER_REJECTED;
  if (subcode === OUTSIDE_WINDOW_SUBCODE) failureCode = ProviderFailureCode.MESSAGING_WINDOW_CLOSED;
  else if (subcode === NO_MATCHING_USER_SUBCODE || code === USER_UNAVAILABLE_CODE) {
    failureCode = ProviderFailureCode.RECIPIENT_INVALID;
  } else if (status === 401 || code === INVALID_TOKEN_CODE || code === PERMISSION_CODE || (code !== undefined && code >= 200 && code < 300)) {
    failureCode = ProviderFailureCode.AUTH_FAILED;
  }
  return new ProviderFailure(message, { code: failureCode, retryable: false, status });
}

/** Meta's environment variables: the Send API's, and those POST and GET /inbound/meta check deliveries with. */
const metaSettings = z.object({
  META_PAGE_ACCESS_TOKEN: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Page (or Instagram user) access token; set, Meta's Graph API carries Instagram (otherwise the sandbox records it)." }),
  META_IG_USER_ID: z.string().min(1).default('me').meta({ description: "The Instagram professional account's id; `me` is the token's account." }),
  META_GRAPH_BASE_URL: z.url().default(META_DEFAULT_BASE_URL).meta({ description: "Origin of Meta's Graph API." }),
  META_GRAPH_VERSION: z
    .string()
    .regex(/^v\d+\.\d+$/, 'must look like v21.0')
    .default(META_DEFAULT_GRAPH_VERSION)
    .meta({ description: 'Graph API version.' }),
  META_APP_SECRET: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Meta app secret: POST /inbound/meta must carry a valid X-Hub-Signature-256 when set.' }),
  META_VERIFY_TOKEN: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "The verify token entered in Meta's webhook settings; the GET handshake is refused without it." }),
});

/** Meta as a messaging vendor: Instagram direct messages and likes, once a page access token is set. */
export const metaVendor = defineMessagingVendor({
  name: META_PROVIDER,
  displayName: 'Meta (Instagram)',
  channels: ['instagram'],
  reactions: ['instagram'],
  settings: metaSettings,
  create: (s, deps) =>
    s.META_PAGE_ACCESS_TOKEN
      ? new MetaMessagingProvider({
          ...deps,
          pageAccessToken: s.META_PAGE_ACCESS_TOKEN,
          igUserId: s.META_IG_USER_ID,
          baseUrl: s.META_GRAPH_BASE_URL,
          version: s.META_GRAPH_VERSION,
        })
      : undefined,
});
