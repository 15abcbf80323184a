import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC of the concatenated parts (strings as UTF-8), as raw bytes. */
export function hmac(algorithm: 'sha1' | 'sha256', key: string, parts: readonly (string | Buffer)[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Whether `given` spells the `expected` MAC in `encoding`, compared in constant time. A value that
 * does not decode to the expected length is unequal (its length reveals nothing secret).
 */
export function macMatches(expected: Buffer, given: string, encoding: 'hex' | 'base64'): boolean {
  const wellFormed = encoding === 'hex' ? /^[0-9a-fA-F]+$/.test(given) : /^[A-Za-z0-9+/]+={0,2}$/.test(given);
  if (!wellFormed) return false;
  const decoded = Buffer.from(given, encoding);
  return decoded.length === expected.length && timingSafeEqual(decoded, expected);
}

/** Constant-time equality of two secrets given as text (e.g. a verify token). */
export function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
