import { isUtf8 } from 'node:buffer';
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { HttpClient, HttpRequest, HttpResponse } from '../ports/http-client.port.js';
import { AddressPolicy, normalizeHost, type AddressPolicyOptions } from './address-policy.js';
import { blockedTarget, checkedLookup, systemResolver, type HostResolver } from './checked-lookup.js';
import { ProviderFailure, ProviderFailureCode } from './provider-failure.js';

/** Default of {@link SafeHttpClientOptions.maxRedirects}. */
export const DEFAULT_MAX_REDIRECTS = 5;
/** Default of {@link SafeHttpClientOptions.userAgent}. */
export const DEFAULT_USER_AGENT = 'workflow-builder';
/** Default of {@link SafeHttpClientOptions.idempotencyHeader}. */
export const DEFAULT_IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** Options of a {@link SafeHttpClient}. */
export interface SafeHttpClientOptions extends AddressPolicyOptions {
  /**
   * Redirects followed per request, each hop checked like the first; defaults to
   * {@link DEFAULT_MAX_REDIRECTS}. The redirect past the limit is returned as the response.
   */
  readonly maxRedirects?: number;
  /** Sent unless the request sets its own; defaults to {@link DEFAULT_USER_AGENT}. */
  readonly userAgent?: string;
  /** Resolves names to addresses; defaults to the system resolver. Tests inject a fake. */
  readonly resolve?: HostResolver;
  /**
   * The header that carries a request's `idempotencyKey`; defaults to
   * {@link DEFAULT_IDEMPOTENCY_HEADER}. `null` sends no key.
   */
  readonly idempotencyHeader?: string | null;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Framing and routing headers are computed per hop, never taken from the step. */
const HOP_HEADERS = [
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  'expect',
];
/** Dropped when a redirect leaves the origin they were meant for. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];
/** Dropped with the body when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location'];

/** One request on the wire: one hop of an exchange. */
interface Hop {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/**
 * The `HttpClient` for workflow steps, guarded against SSRF: every connection — the first and
 * each redirect hop — resolves its host once, checks every address against the
 * {@link AddressPolicy} and connects to exactly those addresses (see {@link checkedLookup}), so
 * DNS rebinding cannot swap in an internal address after the check. IP literals are checked
 * before connecting. Redirects are followed here, not by the HTTP stack, so each is seen.
 */
export class SafeHttpClient implements HttpClient {
  private readonly policy: AddressPolicy;
  private readonly resolve: HostResolver;
  private readonly maxRedirects: number;
  private readonly userAgent: string;
  private readonly idempotencyHeader: string | null;
  // Own agents without keep-alive: a pooled socket is never shared with a client of another policy.
  private readonly httpAgent = new http.Agent({ keepAlive: false });
  private readonly httpsAgent = new https.Agent({ keepAlive: false });

  constructor(options: SafeHttpClientOptions) {
    this.policy = new AddressPolicy(options);
    this.resolve = options.resolve ?? systemResolver;
    this.maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    const header = options.idempotencyHeader === undefined ? DEFAULT_IDEMPOTENCY_HEADER : options.idempotencyHeader;
    this.idempotencyHeader = header === null ? null : header.toLowerCase();
  }

  async request(request: HttpRequest): Promise<HttpResponse> {
    const deadline = new Deadline(request.timeoutMs, request.signal);
    try {
      let hop: Hop = {
        url: httpUrl(request.url),
        method: request.method,
        headers: this.initialHeaders(request),
        body: request.body,
      };
      for (let redirects = 0; ; redirects++) {
        request.beforeSend?.();
        const response = await this.send(hop, deadline.signal);
        const next = redirects < this.maxRedirects ? nextHop(hop, response) : undefined;
        if (next === undefined) return await readResponse(response, request.maxResponseBytes, deadline.signal);
        response.destroy();
        hop = next;
      }
    } catch (err) {
      throw deadline.explain(err);
    } finally {
      deadline.dispose();
    }
  }

  private initialHeaders(request: HttpRequest): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    for (const name of HOP_HEADERS) delete headers[name];
    headers['user-agent'] ??= this.userAgent;
    // A key the step sets itself (a template of its own) wins over the engine's.
    if (this.idempotencyHeader !== null && request.idempotencyKey !== undefined) {
      headers[this.idempotencyHeader] ??= request.idempotencyKey;
    }
    return headers;
  }

  /** Sends one hop; resolves when the response head arrives. */
  private send(hop: Hop, signal: AbortSignal): Promise<IncomingMessage> {
    const host = normalizeHost(hop.url.hostname);
    // IP literals never reach `lookup` (the socket connects to them directly): judge them here.
    const verdict = this.policy.judgeHost(host);
    if (verdict.kind === 'blocked') return Promise.reject(blockedTarget(host, verdict.reason));

    return new Promise((resolve, reject) => {
      let refused: ProviderFailure | undefined;
      const https_ = hop.url.protocol === 'https:';
      const headers: OutgoingHttpHeaders = { ...hop.headers };
      const body = hop.body === undefined ? undefined : Buffer.from(hop.body, 'utf8');
      if (body !== undefined) headers['content-length'] = body.length;
      const options: http.RequestOptions = {
        protocol: hop.url.protocol,
        hostname: host,
        port: hop.url.port === '' ? undefined : Number(hop.url.port),
        path: `${hop.url.pathname}${hop.url.search}`,
        method: hop.method,
        headers,
        signal,
        lookup: checkedLookup(this.policy, this.resolve, (failure) => {
          refused = failure;
        }),
      };
      const req = https_
        ? https.request({ ...options, agent: this.httpsAgent })
        : http.request({ ...options, agent: this.httpAgent });
      req.once('response', resolve);
      req.once('error', (err) => reject(refused ?? err));
      req.end(body);
    });
  }
}

/** Parses an http(s) URL (relative to `base` for redirects) or rejects with `UNSUPPORTED_URL`. */
function httpUrl(value: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    throw unsupportedUrl(`'${value}' is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw unsupportedUrl(`${url.protocol} URLs are not supported`);
  if (url.username !== '' || url.password !== '') throw unsupportedUrl('Credentials in URLs are not supported; send an Authorization header');
  return url;
}

const unsupportedUrl = (message: string): ProviderFailure =>
  new ProviderFailure(message, { code: ProviderFailureCode.UNSUPPORTED_URL, retryable: false });

/**
 * The hop a redirect response leads to, or undefined when the response is final. Follows fetch:
 * 303 (and 301/302 after a POST) turn into a GET without body; credentials do not cross origins.
 */
function nextHop(hop: Hop, response: IncomingMessage): Hop | undefined {
  const status = response.statusCode ?? 0;
  const location = response.headers.location;
  if (!REDIRECT_STATUSES.has(status) || location === undefined || location === '') return undefined;
  const url = httpUrl(location, hop.url);
  const headers = { ...hop.headers };
  let { method, body } = hop;
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = undefined;
    for (const name of BODY_HEADERS) delete headers[name];
  }
  if (url.origin !== hop.url.origin) {
    for (const name of CREDENTIAL_HEADERS) delete headers[name];
  }
  return { url, method, headers, body };
}

/** The decoder for a `content-encoding`, if it is one we undo. */
function decoderFor(encoding: string | undefined): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

/** Reads at most `maxBytes` of (decoded) body, then drops the connection. */
async function readResponse(response: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<HttpResponse> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const decoder = decoderFor(headers['content-encoding']);
  // The limit applies to the decoded bytes, so a small compressed body cannot expand without bound.
  const stream: Readable = decoder === undefined ? response : pipeline(response, decoder, () => {});
  const onAbort = (): void => {
    stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const chunks: Buffer[] = [];
  let total = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      if (total + buffer.length > maxBytes) {
        chunks.push(buffer.subarray(0, maxBytes - total));
        total = maxBytes;
        truncated = true;
        break;
      }
      chunks.push(buffer);
      total += buffer.length;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    response.destroy();
  }
  return { status: response.statusCode ?? 0, headers, ...encodeBody(Buffer.concat(chunks), truncated), truncated };
}

/**
 * Text when the bytes are UTF-8 without NUL characters, base64 of them otherwise: Postgres stores
 * no NUL, and decoding invalid bytes would replace them, so either would lose what was sent. A
 * body cut at the size limit may end inside a character; those last bytes (at most three) are
 * dropped from the text rather than the whole body turned into base64.
 */
function encodeBody(bytes: Buffer, truncated: boolean): Pick<HttpResponse, 'body' | 'bodyEncoding'> {
  if (!bytes.includes(0)) {
    for (let cut = 0; cut <= (truncated ? 3 : 0) && cut <= bytes.length; cut++) {
      const text = bytes.subarray(0, bytes.length - cut);
      if (isUtf8(text)) return { body: text.toString('utf8'), bodyEncoding: 'utf8' };
    }
  }
  return { body: bytes.toString('base64'), bodyEncoding: 'base64' };
}

/** The time limit of a whole exchange (every hop and the body) merged with the caller's signal. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;
  private callerAborted = false;
  private readonly onCallerAbort = (): void => {
    this.callerAborted = true;
    this.controller.abort();
  };

  constructor(
    private readonly timeoutMs: number,
    private readonly callerSignal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, timeoutMs);
    if (callerSignal?.aborted) this.onCallerAbort();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** What to reject with for an error of the exchange. */
  explain(err: unknown): unknown {
    if (err instanceof ProviderFailure) return err;
    if (this.timedOut) {
      return new ProviderFailure(`No complete response within ${this.timeoutMs} ms`, {
        code: ProviderFailureCode.TIMEOUT,
        retryable: true,
        cause: err,
      });
    }
    if (this.callerAborted) {
      return new ProviderFailure('The request was aborted', { code: ProviderFailureCode.ABORTED, retryable: true, cause: err });
    }
    return new ProviderFailure(`Request failed: ${err instanceof Error ? err.message : String(err)}`, {
      code: ProviderFailureCode.NETWORK_ERROR,
      retryable: true,
      cause: err,
    });
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}
