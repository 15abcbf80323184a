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
}

/** The response as read, whatever its status. */
export interface HttpResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body decoded as UTF-8, at most `maxResponseBytes` of it. */
  readonly body: string;
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
