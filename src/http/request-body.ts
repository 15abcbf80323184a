import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { describeInputViolation, findInputViolation, inputViolationField, walkInputViolation, type InputViolation } from '../domain/input.rules.js';
import type { JsonValue } from '../domain/json.js';
import { HttpError, HttpErrorCode } from './http-error.js';

/** The media type of a request, lower-cased, and its charset parameter if any. */
export function mediaTypeOf(req: Request): { type: string; charset: string | undefined } | undefined {
  const header = req.headers['content-type'];
  if (!header) return undefined;
  const [type, ...params] = header.split(';');
  const charset = params
    .map((p) => /^\s*charset\s*=\s*"?([^";\s]+)"?\s*$/i.exec(p)?.[1])
    .find((c) => c !== undefined);
  return { type: type!.trim().toLowerCase(), charset: charset?.toLowerCase() };
}

const isUtf8 = (charset: string | undefined) => charset === undefined || charset === 'utf-8' || charset === 'utf8';

/** `application/json` or a `+json` type, in UTF-8; 415 otherwise. */
export function requireJson(req: Request): void {
  const media = mediaTypeOf(req);
  const json = media && (media.type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(media.type));
  if (!json || !isUtf8(media.charset)) {
    throw new HttpError(HttpErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Send the body as application/json in UTF-8');
  }
}

/** `application/x-www-form-urlencoded` in UTF-8; 415 otherwise. */
export function requireForm(req: Request): void {
  const media = mediaTypeOf(req);
  if (media?.type !== 'application/x-www-form-urlencoded' || !isUtf8(media.charset)) {
    throw new HttpError(HttpErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Send the body as application/x-www-form-urlencoded');
  }
}

/** Reads whole request bodies as bytes, refusing more than `limit`. */
export class RawBodyReader {
  private readonly parse: RequestHandler;

  constructor(private readonly limit: number) {
    // Any content type: callers check it first. gzip/deflate bodies are inflated, and the limit
    // applies to the inflated bytes.
    this.parse = express.raw({ type: () => true, limit });
  }

  /** The exact bytes of the body (signatures are checked over them); empty when there is none. */
  async read(req: Request, res: Response): Promise<Buffer> {
    try {
      await new Promise<void>((resolve, reject) => {
        void this.parse(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
      });
    } catch (err) {
      throw bodyError(err, this.limit);
    }
    const body: unknown = req.body;
    return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  }
}

/** body-parser's errors carry an HTTP status; those of the caller's making become refusals. */
function bodyError(err: unknown, limit: number): unknown {
  const status = (err as { status?: unknown } | null)?.status;
  if (status === 413) return new HttpError(HttpErrorCode.PAYLOAD_TOO_LARGE, `The body is larger than ${limit} bytes`);
  if (status === 415) return new HttpError(HttpErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Unsupported content encoding');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(HttpErrorCode.BAD_REQUEST, 'The body could not be read');
  }
  return err;
}

const malformed = (why: string) => new HttpError(HttpErrorCode.MALFORMED_JSON, `The body is not valid JSON: ${why}`);

/**
 * Parses a JSON body strictly: it must be valid UTF-8 (a leading BOM is ignored) and one JSON
 * value, and it must pass the input rule every transport applies (domain/input.rules.ts: no NUL
 * character or lone surrogate in a string or key, nesting at most 128 deep). 400 MALFORMED_JSON
 * otherwise.
 */
export function parseJsonBody(raw: Buffer): JsonValue {
  const value = parseJsonText(raw);
  refuseViolation(findInputViolation(value));
  return value;
}

/**
 * {@link parseJsonBody}, giving the event loop its turn every few thousand values checked, for
 * bodies large enough that checking them in one go would hold up other requests.
 */
export async function parseJsonBodyCooperatively(raw: Buffer): Promise<JsonValue> {
  const value = parseJsonText(raw);
  await yieldToEventLoop();
  const walk = walkInputViolation(value, { pauseEvery: VALUES_PER_PAUSE });
  for (let step = walk.next(); ; step = walk.next()) {
    if (step.done) {
      refuseViolation(step.value);
      return value;
    }
    await yieldToEventLoop();
  }
}

function parseJsonText(raw: Buffer): JsonValue {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw malformed('it is not UTF-8');
  }
  if (text.includes('\u0000')) throw malformed('it contains a NUL character');
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw malformed(text.trim() === '' ? 'it is empty' : 'it cannot be parsed');
  }
}

/** Values checked between two pauses of the cooperative check. */
const VALUES_PER_PAUSE = 1_000;

/** The body's refusal for a value that breaks the input rule every transport applies. */
function refuseViolation(violation: InputViolation | undefined): void {
  if (!violation) return;
  const field = inputViolationField(violation);
  const at = field === '' ? 'it' : `the value at ${field}`;
  throw malformed(`${at} ${describeInputViolation(violation)}`);
}
