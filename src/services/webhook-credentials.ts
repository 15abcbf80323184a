import { createHash, randomBytes } from 'node:crypto';
import type { StoredToken } from '../ports/webhook.store.port.js';

/** Marks a webhook URL token, so secret scanners and people can tell it apart. */
export const WEBHOOK_TOKEN_PREFIX = 'whk_';
/** Marks a webhook signing secret. */
export const SIGNING_SECRET_PREFIX = 'whsec_';

/** 32 random bytes in base64url, after the prefix. */
const TOKEN_SHAPE = /^whk_[A-Za-z0-9_-]{43}$/;
/** Characters of the token shown as its prefix, after the `whk_` marker. */
const VISIBLE_CHARS = 6;

export const hashWebhookToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Whether a string can be a token at all; anything else is refused without a database lookup. */
export const looksLikeWebhookToken = (token: string): boolean => TOKEN_SHAPE.test(token);

/**
 * A new URL token: 256 random bits, so a SHA-256 hash is a safe way to store it (no salt or slow
 * hash is needed for a secret nobody can guess).
 */
export function newWebhookToken(): { token: string; stored: StoredToken } {
  const token = WEBHOOK_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return {
    token,
    stored: { tokenHash: hashWebhookToken(token), prefix: token.slice(0, WEBHOOK_TOKEN_PREFIX.length + VISIBLE_CHARS) },
  };
}

/** A new signing secret (256 random bits); the HMAC key is the whole string, prefix included. */
export const newSigningSecret = (): string => SIGNING_SECRET_PREFIX + randomBytes(32).toString('base64url');
