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
  if (!args.header) return SignatureFailure.MISSING;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of args.header.split(',')) {
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
  const nowS = Math.floor(args.now.getTime() / 1000);
  if (Math.abs(nowS - timestamp) > args.toleranceS) return SignatureFailure.STALE;
  const expected = signedBytes(args.secret, timestamp, args.body);
  // Check every candidate, so the time taken does not tell which one matched.
  let matched = false;
  for (const candidate of candidates) matched = macMatches(expected, candidate, 'hex') || matched;
  return matched ? undefined : SignatureFailure.MISMATCH;
}
