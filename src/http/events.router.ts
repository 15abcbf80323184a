import type { IncomingMessage } from 'node:http';
import { Router } from 'express';
import { AppError, ErrorCode } from '../domain/errors.js';
import { isJsonObject, type JsonValue } from '../domain/json.js';
import type { EventWaits } from '../engine/event-waits.js';
import { HttpError, HttpErrorCode, methodNotAllowed } from './http-error.js';
import { parseJsonBody, requireJson, type RawBodyReader } from './request-body.js';

export interface EventsRouterOptions {
  readonly events: Pick<EventWaits, 'send'>;
  /** The workspace of an `Authorization: Bearer <API key>` header; rejects with UNAUTHENTICATED or RATE_LIMITED. */
  readonly authenticate: (authorization: string | undefined, request: IncomingMessage) => Promise<{ readonly workspaceId: string }>;
  readonly body: RawBodyReader;
}

/** The refusals of the events endpoint, from the errors of authentication and of sendEvent. */
function refusal(err: unknown): unknown {
  if (!(err instanceof AppError)) return err;
  switch (err.code) {
    case ErrorCode.UNAUTHENTICATED:
      return new HttpError(HttpErrorCode.UNAUTHENTICATED, err.message);
    case ErrorCode.RATE_LIMITED:
      return new HttpError(HttpErrorCode.RATE_LIMITED, err.message);
    case ErrorCode.BAD_USER_INPUT:
      return new HttpError(HttpErrorCode.BAD_REQUEST, err.message);
    case ErrorCode.LIMIT_EXCEEDED:
      // Too large a payload is the body's fault; a key holding its limit of kept events is not.
      return new HttpError(err.details.field === 'payload' ? HttpErrorCode.PAYLOAD_TOO_LARGE : HttpErrorCode.LIMIT_EXCEEDED, err.message);
    default:
      return err;
  }
}

const field = (body: Record<string, JsonValue>, name: 'name' | 'key'): string => {
  const value = body[name];
  if (typeof value !== 'string') throw new HttpError(HttpErrorCode.BAD_REQUEST, `The body needs "${name}", a string`);
  return value;
};

/**
 * `POST /events`: sendEvent over HTTP, for services that call webhooks rather than GraphQL. The
 * caller authenticates with an API key, as on /graphql (its workspace is the event's); the body is
 * `{ "name", "key", "payload"? }` as JSON. Answers 200 `{ resumedInstanceIds, keptUntil }`, or a
 * JSON refusal: 401 UNAUTHENTICATED, 429 RATE_LIMITED, 415, 413 (body or payload too large), 400
 * (not JSON, a field missing or refused), 429 LIMIT_EXCEEDED (the key or workspace holds its
 * limit of kept events).
 */
export function createEventsRouter(options: EventsRouterOptions): Router {
  const router = Router();
  router.post('/events', async (req, res) => {
    try {
      const actor = await options.authenticate(req.get('authorization'), req);
      requireJson(req);
      const body = parseJsonBody(await options.body.read(req, res));
      if (!isJsonObject(body)) throw new HttpError(HttpErrorCode.BAD_REQUEST, 'The body must be a JSON object { "name", "key", "payload" }');
      const sent = await options.events.send(actor, { name: field(body, 'name'), key: field(body, 'key'), payload: body.payload ?? {} });
      res.status(200).json({ resumedInstanceIds: sent.resumedInstanceIds, keptUntil: sent.keptUntil?.toISOString() ?? null });
    } catch (err) {
      throw refusal(err);
    }
  });
  router.all('/events', methodNotAllowed(['POST']));
  return router;
}
