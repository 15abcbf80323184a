import { ProviderFailure, ProviderFailureCode } from './provider-failure.js';

/** Default time a vendor API call may take, response body included. */
export const DEFAULT_VENDOR_TIMEOUT_MS = 15_000;

/** One call to a messaging vendor's REST API. */
export interface VendorCall {
  /** For messages: `Twilio`, `Meta`. */
  readonly vendor: string;
  readonly fetch: typeof fetch;
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

/** The vendor's answer, whatever its status. */
export interface VendorResponse {
  readonly status: number;
  /** The body parsed as JSON; undefined when it is not JSON (or could not be read). */
  readonly json: unknown;
}

/**
 * Errors raised before any byte of the request can have reached the vendor: nothing was sent, so
 * trying again is safe.
 */
const CONNECT_PHASE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
]);

/** The `code` of an error or of what caused it (fetch wraps socket errors in `cause`). */
export function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    if ('code' in e && typeof e.code === 'string') return e.code;
    if ('errors' in e && Array.isArray(e.errors) && e.errors.length > 0) {
      e = e.errors[0];
      continue;
    }
    e = 'cause' in e ? e.cause : undefined;
  }
  return undefined;
}

/**
 * POSTs to a vendor and reads its JSON answer. Resolves for every HTTP status; rejects with a
 * {@link ProviderFailure} when no answer came, with `delivery: 'not-sent'` only when the
 * connection never opened.
 */
export async function callVendor(call: VendorCall): Promise<VendorResponse> {
  const signal = AbortSignal.timeout(call.timeoutMs);
  let response: Response;
  try {
    response = await call.fetch(call.url, { method: call.method, headers: call.headers, body: call.body, signal });
  } catch (err) {
    if (signal.aborted) {
      throw new ProviderFailure(`${call.vendor} did not answer within ${call.timeoutMs} ms`, {
        code: ProviderFailureCode.TIMEOUT,
        retryable: true,
        delivery: 'uncertain',
        cause: err,
      });
    }
    const code = errorCode(err);
    const detail = code ?? (err instanceof Error ? err.message : String(err));
    throw new ProviderFailure(`Could not reach ${call.vendor}: ${detail}`, {
      code: ProviderFailureCode.NETWORK_ERROR,
      retryable: true,
      delivery: code !== undefined && CONNECT_PHASE_CODES.has(code) ? 'not-sent' : 'uncertain',
      cause: err,
    });
  }
  let json: unknown;
  try {
    const text = await response.text();
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    // The status is what decides; a body lost to a timeout or a non-JSON error page only costs details.
    json = undefined;
  }
  return { status: response.status, json };
}

/** Whether a status means the vendor may answer differently later. */
export const isTransientStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;
