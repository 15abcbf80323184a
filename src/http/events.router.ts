import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { AppError, ErrorCode } from '../domain/errors.js';
import { isJsonObject, type JsonValue } from '../domain/json.js';
import type { EventWaits } from '../engine/event-waits.js';
import type { Clock } from '../ports/clock.port.js';
import type { EventSigningStore } from '../ports/event-signing.store.port.js';
import type { SeenSignatureStore } from '../ports/seen-signature.store.port.js';
import { HttpError, HttpErrorCode, methodNotAllowed } from './http-error.js';
import { parseJsonBody, requireJson, type RawBodyReader } from './request-body.js';
import {
  checkWebhookSignature,
  SIGNATURE_FAILURE_MESSAGES,
  SignatureFailure,
  signedMessageOf,
  WEBHOOK_SIGNATURE_HEADER,
} from './webhook-signature.js';

export interface EventsRouterOptions {
  readonly events: Pick<EventWaits, 'send'>;
  /** The workspace of an `Authorization: Bearer <API key>` header; rejects with UNAUTHENTICATED or RATE_LIMITED. */
  readonly authenticate: (authorization: string | undefined, request: IncomingMessage) => Promise<{ readonly workspaceId: string }>;
  readonly body: RawBodyReader;
  /** Signed events (`POST /events/:workspaceId`): the workspaces' secrets and the calls already accepted. */
  readonly signing: {
    readonly secrets: Pick<EventSigningStore, 'secretOf'>;
    readonly seen: SeenSignatureStore;
    readonly clock: Clock;
    /** How far a signature timestamp may be from now, in seconds (as for webhooks). */
    readonly toleranceS: number;
  };
  readonly logger: Logger;
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

/** An event as the body of either endpoint carries it. */
type SentEvent = { name: string; key: string; payload: JsonValue };

/** The event of a request body: `{ "name", "key", "payload"? }` as JSON; 400 otherwise. */
function eventOf(raw: Buffer): SentEvent {
  const body = parseJsonBody(raw);
  if (!isJsonObject(body)) throw new HttpError(HttpErrorCode.BAD_REQUEST, 'The body must be a JSON object { "name", "key", "payload" }');
  return { name: field(body, 'name'), key: field(body, 'key'), payload: body.payload ?? {} };
}

/**
 * `POST /events` and `POST /events/:workspaceId`: sendEvent over HTTP, for services that call
 * webhooks rather than GraphQL. The body is `{ "name", "key", "payload"? }` as JSON. Answers 200
 * `{ resumedInstanceIds, keptUntil }`, or a JSON refusal: 401 UNAUTHENTICATED, 429 RATE_LIMITED,
 * 415, 413 (body or payload too large), 400 (not JSON, a field missing or refused), 429
 * LIMIT_EXCEEDED (the key or workspace holds its limit of kept events), and on the signed path 409
 * REPLAYED_SIGNATURE.
 *
 * `/events` authenticates with an API key, as on /graphql (its workspace is the event's).
 * `/events/:workspaceId` takes no key: the body is signed with the workspace's event signing
 * secret, in the `X-Wfb-Signature` of webhooks, and each signed call is accepted once.
 */
export function createEventsRouter(options: EventsRouterOptions): Router {
  const router = Router();
  const { signing } = options;
  // Stands in for the secret of a workspace that has none (or does not exist), so that such a call
  // is checked, and refused, exactly as one signed with a wrong secret: same answer, same work.
  const noSecret = randomBytes(32).toString('base64url');

  const answer = async (res: Response, actor: { readonly workspaceId: string }, event: SentEvent): Promise<void> => {
    const sent = await options.events.send(actor, event);
    res.status(200).json({ resumedInstanceIds: sent.resumedInstanceIds, keptUntil: sent.keptUntil?.toISOString() ?? null });
  };

  router.post('/events', async (req, res) => {
    try {
      const actor = await options.authenticate(req.get('authorization'), req);
      requireJson(req);
      await answer(res, actor, eventOf(await options.body.read(req, res)));
    } catch (err) {
      throw refusal(err);
    }
  });
  router.all('/events', methodNotAllowed(['POST']));

  /**
   * The workspace whose secret signed the raw body, and the signed message; 401 UNAUTHENTICATED
   * otherwise, alike for an unknown workspace, one without a secret and a bad signature.
   */
  const verified = async (req: Request, raw: Buffer): Promise<{ workspaceId: string; message: { timestamp: number; digest: string } }> => {
    const workspaceId = typeof req.params.workspaceId === 'string' ? req.params.workspaceId : '';
    const header = req.get(WEBHOOK_SIGNATURE_HEADER);
    const secret = await signing.secrets.secretOf(workspaceId);
    const failure =
      checkWebhookSignature({ header, secret: secret ?? noSecret, body: raw, now: signing.clock.now(), toleranceS: signing.toleranceS }) ??
      (secret === undefined ? SignatureFailure.MISMATCH : undefined);
    const message = signedMessageOf(header, raw);
    if (failure || !message) {
      options.logger.info({ workspaceId: secret === undefined ? undefined : workspaceId, failure }, 'signed event refused: bad signature');
      throw new HttpError(HttpErrorCode.UNAUTHENTICATED, SIGNATURE_FAILURE_MESSAGES[failure ?? SignatureFailure.MALFORMED]);
    }
    return { workspaceId, message };
  };

  router.post('/events/:workspaceId', async (req, res) => {
    try {
      requireJson(req);
      const raw = await options.body.read(req, res);
      const { workspaceId, message } = await verified(req, raw);
      const event = eventOf(raw);
      const claim = {
        workspaceId,
        digest: message.digest,
        // Past this the signature is stale, and refused as such without the claim.
        expiresAt: new Date((message.timestamp + signing.toleranceS + 1) * 1000),
        now: signing.clock.now(),
      };
      if (!(await signing.seen.claim(claim))) {
        throw new HttpError(HttpErrorCode.REPLAYED_SIGNATURE, 'This signed call was accepted already; sign each call anew');
      }
      try {
        await answer(res, { workspaceId }, event);
      } catch (err) {
        // Refused after all (a limit, say): a retry of the same signed call is not a replay. The
        // refusal is what the caller needs to see, even if giving the claim back fails.
        await signing.seen.release(claim).catch((releaseErr: unknown) =>
          options.logger.error({ err: releaseErr, workspaceId }, 'could not release the claim of a refused signed event'),
        );
        throw err;
      }
    } catch (err) {
      throw refusal(err);
    }
  });
  router.all('/events/:workspaceId', methodNotAllowed(['POST']));
  return router;
}
