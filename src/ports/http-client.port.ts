/** HTTP methods an `http.request` step may use. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One outbound request, fully rendered. */
export interface HttpRequest {
  readonly method: HttpMethod;
  /** Absolute `http:` or `https:` URL. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The whole exchange must finish within this time. */
  readonly timeoutMs: number;
  /** Bytes of body to read at most; the rest is dropped and `truncated` set. */
  readonly maxResponseBytes: number;
  readonly signal?: AbortSignal;
  /**
   * Stable for one step of one run across re-sends (retries, takeovers, restarts). The client
   * sends it in its configured idempotency header, unless the request sets that header itself,
   * so the receiver can drop a repeat.
   */
  readonly idempotencyKey?: string;
  /**
   * Called right before each request goes out (every redirect hop too); when it throws, nothing
   * is sent and the request rejects with that error. The engine uses it to stop an attempt whose
   * lease is gone from sending.
   */
  readonly beforeSend?: () => void;
}

/** The response as read, whatever its status. */
export interface HttpResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * At most `maxResponseBytes` of the body: as text when the bytes are valid UTF-8 without NUL
   * characters (`bodyEncoding: 'utf8'`), otherwise base64 of the bytes (`'base64'`), so that any
   * answer can be stored as it came.
   */
  readonly body: string;
  readonly bodyEncoding: 'utf8' | 'base64';
  readonly truncated: boolean;
}

/**
 * Makes outbound HTTP requests for workflow steps. Implementations must guard against SSRF
 * (refuse private, loopback and link-local targets, including after redirects and DNS
 * resolution) and enforce the timeout and size limits. Resolves for every HTTP status; rejects
 * only when no response was obtained (timeout, network error, blocked target), optionally with a
 * `PortFailure` (`retryable: false` for a blocked target).
 */
export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
}
