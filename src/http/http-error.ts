import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AppError, ErrorCode } from '../domain/errors.js';

/**
 * Why a webhook or inbound-channel request was refused: the `error.code` of the JSON body.
 * Each code has one HTTP status.
 */
export const HttpErrorCode = {
  /** A header or parameter is not acceptable (e.g. an over-long Idempotency-Key). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The body is not JSON: empty, cut short, invalid UTF-8, NUL characters, nested too deep. */
  MALFORMED_JSON: 'MALFORMED_JSON',
  /** The signature is missing, malformed, stale or does not match the body. */
  INVALID_SIGNATURE: 'INVALID_SIGNATURE',
  /** No API key, or an unknown or revoked one (POST /events); no valid signature of the workspace (POST /events/:workspaceId). */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Too many failed API key attempts from this client address; try again later. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** A configured limit is reached (POST /events: kept events of a key or workspace). */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** The verification handshake was refused. */
  FORBIDDEN: 'FORBIDDEN',
  /** Unknown or rotated webhook token. */
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** The workflow is a draft or archived, or its newest version is not triggered this way. */
  WORKFLOW_NOT_STARTABLE: 'WORKFLOW_NOT_STARTABLE',
  /** A signature already received with other parameters: a captured delivery re-split into a new one. */
  REPLAYED_DELIVERY: 'REPLAYED_DELIVERY',
  /** A signed call accepted already, sent again while its signature is still fresh (POST /events/:workspaceId). */
  REPLAYED_SIGNATURE: 'REPLAYED_SIGNATURE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  INTERNAL: 'INTERNAL',
  /** The endpoint has no provider secret to check calls with (see INBOUND_ALLOW_UNSIGNED). */
  NOT_CONFIGURED: 'NOT_CONFIGURED',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

const STATUS: Readonly<Record<HttpErrorCode, number>> = {
  BAD_REQUEST: 400,
  MALFORMED_JSON: 400,
  INVALID_SIGNATURE: 401,
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
  LIMIT_EXCEEDED: 429,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  WORKFLOW_NOT_STARTABLE: 409,
  REPLAYED_DELIVERY: 409,
  REPLAYED_SIGNATURE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL: 500,
  NOT_CONFIGURED: 503,
};

/** A refusal with a code the caller can act on; its message reaches the caller as it is. */
export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  get status(): number {
    return STATUS[this.code];
  }
}

/** The JSON error body every endpoint of this room answers with. */
export interface HttpErrorBody {
  readonly error: { readonly code: HttpErrorCode; readonly message: string };
}

export function sendHttpError(res: Response, error: HttpError): void {
  const body: HttpErrorBody = { error: { code: error.code, message: error.message } };
  res.status(error.status).json(body);
}

/** Errors of the engine that a caller of a webhook can act on, as HTTP refusals. */
function fromAppError(err: AppError): HttpError | undefined {
  switch (err.code) {
    case ErrorCode.NOT_FOUND:
      return new HttpError(HttpErrorCode.NOT_FOUND, err.message);
    case ErrorCode.INVALID_STATE:
      return new HttpError(HttpErrorCode.WORKFLOW_NOT_STARTABLE, err.message);
    case ErrorCode.LIMIT_EXCEEDED:
      return new HttpError(HttpErrorCode.PAYLOAD_TOO_LARGE, err.message);
    case ErrorCode.BAD_USER_INPUT:
      return new HttpError(HttpErrorCode.BAD_REQUEST, err.message);
    default:
      return undefined;
  }
}

const REQUEST_ERROR_CODES: Readonly<Record<number, HttpErrorCode>> = {
  404: HttpErrorCode.NOT_FOUND,
  405: HttpErrorCode.METHOD_NOT_ALLOWED,
  413: HttpErrorCode.PAYLOAD_TOO_LARGE,
  415: HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
};

/**
 * Errors Express and its parsers raise for a request of the caller's making (a path that does not
 * decode, say) carry a 4xx `status`; they become the refusal of that status.
 */
function fromRequestError(err: unknown): HttpError | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  const code = REQUEST_ERROR_CODES[status] ?? HttpErrorCode.BAD_REQUEST;
  return new HttpError(code, 'The request could not be handled as sent');
}

/**
 * The last handler of the webhook and inbound routers, and of the whole server: HttpErrors and
 * AppErrors become their status and JSON body; anything else is logged and answered with a generic
 * 500, so no stack trace, SQL or HTML page reaches a caller.
 */
export function httpErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const known =
      err instanceof HttpError ? err : err instanceof AppError ? fromAppError(err) : fromRequestError(err);
    if (known) {
      sendHttpError(res, known);
      return;
    }
    logger.error({ err, method: req.method, path: req.route?.path ?? 'unknown' }, 'unexpected error in an HTTP endpoint');
    sendHttpError(res, new HttpError(HttpErrorCode.INTERNAL, 'Internal server error'));
  };
}

/** Answers 405 with the methods the path does take, for routers to mount after their routes. */
export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  return (_req, res) => {
    res.set('Allow', allowed.join(', '));
    throw new HttpError(HttpErrorCode.METHOD_NOT_ALLOWED, `This endpoint takes ${allowed.join(' or ')}`);
  };
}

/**
 * The server's last route: any path and method nothing else served is a JSON 404, never Express's
 * HTML page.
 */
export const unknownRouteHandler: RequestHandler = () => {
  throw new HttpError(HttpErrorCode.NOT_FOUND, 'Nothing is served at this path');
};
