import { createHash } from 'node:crypto';
import { Router, type Request } from 'express';
import type { Logger } from 'pino';
import type { Clock } from '../ports/clock.port.js';
import { HttpError, HttpErrorCode, methodNotAllowed } from './http-error.js';
import { secretsEqual } from './hmac.js';
import type { InboundDeliveryProcessor } from './inbound-delivery.processor.js';
import { META_SIGNATURE_HEADER, metaSignatureValid, parseMetaDelivery } from './meta-inbound.js';
import { parseJsonBodyCooperatively, requireForm, requireJson, type RawBodyReader } from './request-body.js';
import {
  TWILIO_SIGNATURE_HEADER,
  TwilioForm,
  twilioMessage,
  twilioSignatureValid,
  twilioSignedDigest,
} from './twilio-inbound.js';

/** An empty TwiML answer: Twilio sends no reply; workflows reply with their own steps. */
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
/** Headers of the Twilio answer naming what the message started (TwiML itself would be sent as a reply). */
export const STARTED_COUNT_HEADER = 'X-Wfb-Started-Count';
export const STARTED_INSTANCES_HEADER = 'X-Wfb-Started-Instances';
/** And the waiting instances it resumed (a wait.forMessage). */
export const RESUMED_INSTANCES_HEADER = 'X-Wfb-Resumed-Instances';
/** Ids named in the header at most, so it stays within what HTTP clients accept. */
const MAX_NAMED_INSTANCES = 50;

/**
 * The answer to a Meta delivery, given once it is stored and before its messages are processed:
 * Meta wants its 200 quickly whatever the delivery's size.
 */
export interface MetaDeliveryAnswer {
  readonly deliveryId: string;
  /** The same bytes were delivered before; this is that delivery, processed once. */
  readonly duplicate: boolean;
  /** Text messages it holds, to be processed. */
  readonly messages: number;
  /** Events that are not text messages we handle. */
  readonly ignored: number;
}

export interface InboundRouterOptions {
  readonly deliveries: Pick<InboundDeliveryProcessor, 'accept'>;
  readonly body: RawBodyReader;
  readonly clock: Clock;
  /** The public origin Twilio calls (its signature covers the full URL). */
  readonly publicBaseUrl: () => string;
  /** Meta's app secret (checks X-Hub-Signature-256) and the verify token of its handshake. */
  readonly meta: { readonly appSecret: string | undefined; readonly verifyToken: string | undefined };
  /** Twilio's auth token (checks X-Twilio-Signature). */
  readonly twilio: { readonly authToken: string | undefined };
  /** Accept deliveries of a provider whose secret is not configured, unchecked (local development). */
  readonly allowUnsigned: boolean;
  readonly logger: Logger;
}

/**
 * Deployment-wide endpoints for messaging providers: `GET|POST /inbound/meta` (Instagram and
 * WhatsApp Cloud API) and `POST /inbound/twilio` (SMS and WhatsApp). Deliveries are checked with
 * the provider's signature, normalised and stored before they are answered: a Meta delivery is
 * answered at once and processed in the background; a Twilio one (one message) is processed
 * before its answer, which names the instances it started. A signature already received with other
 * parameters is a replay and refused.
 */
export function createInboundRouter(options: InboundRouterOptions): Router {
  const router = Router();
  const { logger } = options;

  /** The secret to check deliveries with; undefined when unsigned ones are allowed. */
  const secretOf = (secret: string | undefined, variable: string): string | undefined => {
    if (secret === undefined && !options.allowUnsigned) {
      throw new HttpError(HttpErrorCode.NOT_CONFIGURED, `This endpoint is not set up: ${variable} is not configured`);
    }
    return secret;
  };

  router.get('/inbound/meta', (req: Request, res) => {
    const query = new URL(req.originalUrl, 'http://localhost').searchParams;
    const expected = options.meta.verifyToken;
    const given = query.get('hub.verify_token');
    const challenge = query.get('hub.challenge');
    const ok =
      expected !== undefined &&
      query.get('hub.mode') === 'subscribe' &&
      given !== null &&
      secretsEqual(given, expected) &&
      challenge !== null;
    if (!ok) throw new HttpError(HttpErrorCode.FORBIDDEN, 'The verification request was refused');
    res.set('X-Content-Type-Options', 'nosniff').type('text/plain').send(challenge);
  });

  router.post('/inbound/meta', async (req, res) => {
    const receivedAt = options.clock.now();
    const secret = secretOf(options.meta.appSecret, 'META_APP_SECRET');
    requireJson(req);
    const raw = await options.body.read(req, res);
    if (secret !== undefined && !metaSignatureValid(secret, req.get(META_SIGNATURE_HEADER), raw)) {
      logger.info({ provider: 'meta' }, 'inbound delivery refused: bad signature');
      throw new HttpError(HttpErrorCode.INVALID_SIGNATURE, `${META_SIGNATURE_HEADER} is missing or does not match the body`);
    }
    const delivery = await parseMetaDelivery(await parseJsonBodyCooperatively(raw), receivedAt);
    if (!delivery) throw new HttpError(HttpErrorCode.BAD_REQUEST, 'The body is not a Meta webhook notification');
    // Meta signs the exact bytes: the same bytes again are its redelivery.
    const digest = createHash('sha256').update(raw).digest('hex');
    const { delivery: stored, created } = await options.deliveries.accept(
      { provider: 'meta', signedDigest: digest, contentDigest: digest, ...delivery, receivedAt },
      { processNow: false },
    );
    const answer: MetaDeliveryAnswer = {
      deliveryId: stored.id,
      duplicate: !created,
      messages: stored.messageCount,
      ignored: stored.ignored,
    };
    res.status(200).json(answer);
  });

  router.post('/inbound/twilio', async (req, res) => {
    const receivedAt = options.clock.now();
    const secret = secretOf(options.twilio.authToken, 'TWILIO_AUTH_TOKEN');
    requireForm(req);
    const raw = await options.body.read(req, res);
    const form = await TwilioForm.parse(raw);
    const url = `${options.publicBaseUrl()}${req.originalUrl}`;
    if (secret !== undefined) {
      if (!twilioSignatureValid({ authToken: secret, url, form, header: req.get(TWILIO_SIGNATURE_HEADER) })) {
        logger.info({ provider: 'twilio' }, 'inbound delivery refused: bad signature');
        throw new HttpError(HttpErrorCode.INVALID_SIGNATURE, `${TWILIO_SIGNATURE_HEADER} is missing or does not match`);
      }
    }
    for (const value of form.values()) {
      // Postgres cannot store NUL in text or jsonb; no real message carries one.
      if (value.includes('\u0000')) throw new HttpError(HttpErrorCode.BAD_REQUEST, 'A parameter contains a NUL character');
    }
    const message = twilioMessage(form, receivedAt);
    const contentDigest = form.contentDigest();
    const { delivery, created, outcome } = await options.deliveries.accept(
      {
        provider: 'twilio',
        signedDigest: twilioSignedDigest(url, form),
        contentDigest,
        messages: message ? [message] : [],
        ignored: message ? 0 : 1,
        receivedAt,
      },
      { processNow: true },
    );
    if (!created && delivery.contentDigest !== contentDigest) {
      logger.warn({ provider: 'twilio', deliveryId: delivery.id }, 'inbound delivery refused: a replay with shifted parameters');
      throw new HttpError(
        HttpErrorCode.REPLAYED_DELIVERY,
        `${TWILIO_SIGNATURE_HEADER} was already received with other parameters`,
      );
    }
    // Named when this request processed the delivery: a delivery with no message to handle (media
    // only...) is stored processed and started nothing. A retry, or a processing left to the
    // background after a failure, names nothing.
    const startedIds = outcome ? outcome.startedInstanceIds : created && delivery.processedAt !== null ? [] : undefined;
    if (startedIds) {
      res.set(STARTED_COUNT_HEADER, String(startedIds.length));
      if (startedIds.length > 0) res.set(STARTED_INSTANCES_HEADER, startedIds.slice(0, MAX_NAMED_INSTANCES).join(','));
      const resumed = outcome?.resumedInstanceIds ?? [];
      if (resumed.length > 0) res.set(RESUMED_INSTANCES_HEADER, resumed.slice(0, MAX_NAMED_INSTANCES).join(','));
    }
    res.status(200).type('text/xml').send(EMPTY_TWIML);
  });

  router.all('/inbound/meta', methodNotAllowed(['GET', 'POST']));
  router.all('/inbound/twilio', methodNotAllowed(['POST']));
  return router;
}
