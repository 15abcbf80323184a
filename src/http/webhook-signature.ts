import { createHash } from 'node:crypto';
import { hmac, macMatches } from './hmac.js';

/** The header a signed webhook call carries: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const WEBHOOK_SIGNATURE_HEADER = 'X-Wfb-Signature';

/** Why a signature was refused. */
export const SignatureFailure = {
  MISSING: 'MISSING',
  MALFORMED: 'MALFORMED',
  /** The timestamp is further from now than the tolerance (a replay or a wrong clock). */
  STALE: 'STALE',
  MISMATCH: 'MISMATCH',
} as const;
export type SignatureFailure = (typeof SignatureFailure)[keyof typeof SignatureFailure];

/** What a caller is told for each failure; the same on every endpoint that takes this header. */
export const SIGNATURE_FAILURE_MESSAGES: Readonly<Record<SignatureFailure, string>> = {
  MISSING: `The request requires a signature in ${WEBHOOK_SIGNATURE_HEADER}`,
  MALFORMED: `${WEBHOOK_SIGNATURE_HEADER} must look like t=<unix seconds>,v1=<hex HMAC-SHA256>`,
  STALE: 'The signature timestamp is too far from the current time',
  MISMATCH: 'The signature does not match the body',
};

const signedBytes = (secret: string, timestamp: number, body: Buffer): Buffer =>
  hmac('sha256', secret, [`${timestamp}.`, body]);

/**
 * The header value for `body` sent at `timestamp` (unix seconds):
 * `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body bytes>")>`.
 */
export function signWebhookBody(args: { secret: string; timestamp: number; body: Buffer | string }): string {
  const body = typeof args.body === 'string' ? Buffer.from(args.body, 'utf8') : args.body;
  return `t=${args.timestamp},v1=${signedBytes(args.secret, args.timestamp, body).toString('hex')}`;
}

/** The parts of a signature header, or why it has none. */
function parseSignatureHeader(header: string | undefined): { timestamp: number; candidates: string[] } | SignatureFailure {
  if (!header) return SignatureFailure.MISSING;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return SignatureFailure.MALFORMED;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined) return SignatureFailure.MALFORMED;
      timestamp = Number(value);
    } else if (key === 'v1') {
      candidates.push(value);
    }
  }
  if (timestamp === undefined || candidates.length === 0) return SignatureFailure.MALFORMED;
  return { timestamp, candidates };
}

/**
 * Checks a signature header against the exact body bytes. Several `v1` entries are allowed (any
 * one may match); unknown keys are ignored so the scheme can grow. Undefined when it is valid.
 */
export function checkWebhookSignature(args: {
  header: string | undefined;
  secret: string;
  body: Buffer;
  now: Date;
  toleranceS: number;
}): SignatureFailure | undefined {
  const parsed = parseSignatureHeader(args.header);
  if (typeof parsed === 'string') return parsed;
  const { timestamp, candidates } = parsed;
  const nowS = Math.floor(args.now.getTime() / 1000);
  if (Math.abs(nowS - timestamp) > args.toleranceS) return SignatureFailure.STALE;
  const expected = signedBytes(args.secret, timestamp, args.body);
  // Check every candidate, so the time taken does not tell which one matched.
  let matched = false;
  for (const candidate of candidates) matched = macMatches(expected, candidate, 'hex') || matched;
  return matched ? undefined : SignatureFailure.MISMATCH;
}

/**
 * The signed message of a header {@link checkWebhookSignature} accepted, for refusing replays:
 * its timestamp, and a hex SHA-256 of `"<t>.<body bytes>"`. Every valid header for the same
 * timestamp and body gives the same digest, however its entries are spelled or ordered.
 * Undefined when the header does not parse.
 */
export function signedMessageOf(header: string | undefined, body: Buffer): { timestamp: number; digest: string } | undefined {
  const parsed = parseSignatureHeader(header);
  if (typeof parsed === 'string') return undefined;
  const digest = createHash('sha256').update(`${parsed.timestamp}.`).update(body).digest('hex');
  return { timestamp: parsed.timestamp, digest };
}
