import type { PortFailure } from '../ports/port-failure.js';

/** Machine-readable reasons the adapters in this folder reject with. */
export const ProviderFailureCode = {
  /** The HTTP target (or a redirect hop) is an address or name the policy refuses. */
  BLOCKED_ADDRESS: 'BLOCKED_ADDRESS',
  /** Not an http(s) URL, or a redirect to another scheme. */
  UNSUPPORTED_URL: 'UNSUPPORTED_URL',
  /** The exchange did not finish within its time limit. */
  TIMEOUT: 'TIMEOUT',
  /** The caller's signal aborted the exchange. */
  ABORTED: 'ABORTED',
  /** No response: connection refused, DNS failure, connection reset... */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** The vendor rejected the recipient (unknown number, user unreachable, opted out...). */
  RECIPIENT_INVALID: 'RECIPIENT_INVALID',
  /** Instagram: the 24-hour window to answer the user has closed. */
  MESSAGING_WINDOW_CLOSED: 'MESSAGING_WINDOW_CLOSED',
  /** The vendor refused our credentials or permissions. */
  AUTH_FAILED: 'AUTH_FAILED',
  RATE_LIMITED: 'RATE_LIMITED',
  /** 5xx, 408 or a vendor error flagged as transient. */
  PROVIDER_UNAVAILABLE: 'PROVIDER_UNAVAILABLE',
  /** Any other refusal by the vendor. */
  PROVIDER_REJECTED: 'PROVIDER_REJECTED',
  /** The deployment lacks a setting this send needs (e.g. the WhatsApp sender number). */
  NOT_CONFIGURED: 'NOT_CONFIGURED',
  /** Another attempt of the same step holds the idempotency key and has not finished yet. */
  SEND_IN_PROGRESS: 'SEND_IN_PROGRESS',
  /** An earlier attempt may have delivered this message; it is not sent again. */
  DELIVERY_UNCERTAIN: 'DELIVERY_UNCERTAIN',
} as const;
export type ProviderFailureCode = (typeof ProviderFailureCode)[keyof typeof ProviderFailureCode];

/**
 * Whether the vendor can have acted on a failed request: `not-sent` when it certainly did not
 * (it answered with an error, or no connection was made), `uncertain` otherwise.
 */
export type DeliveryState = 'not-sent' | 'uncertain';

/** Options of a {@link ProviderFailure}. */
export interface ProviderFailureOptions {
  readonly code: ProviderFailureCode;
  readonly retryable: boolean;
  /** Defaults to `not-sent`. */
  readonly delivery?: DeliveryState;
  /** The vendor's HTTP status, when it answered. */
  readonly status?: number;
  readonly cause?: unknown;
}

/** The error every adapter in this folder rejects with: a `PortFailure` the engine classifies by data. */
export class ProviderFailure extends Error implements PortFailure {
  readonly code: ProviderFailureCode;
  readonly retryable: boolean;
  readonly delivery: DeliveryState;
  readonly status: number | undefined;

  constructor(message: string, options: ProviderFailureOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProviderFailure';
    this.code = options.code;
    this.retryable = options.retryable;
    this.delivery = options.delivery ?? 'not-sent';
    this.status = options.status;
  }
}
