import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { clientAddressResolver } from '../../../src/http/client-address.js';
import { clientKey, FailedKeyAttemptLimiter } from '../../../src/services/failed-key-attempts.limiter.js';

describe('clientKey', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['unknown', 'unknown'],
  ])('%s counts as %s', (address, key) => {
    expect(clientKey(address)).toBe(key);
  });
});

describe('FailedKeyAttemptLimiter', () => {
  test('an address may take its allowance; the next is told how long to wait; a refund gives one back', async () => {
    const limiter = new FailedKeyAttemptLimiter({ attempts: 2, windowMs: 60_000 });
    expect(await limiter.take('198.51.100.1')).toBe(0);
    expect(await limiter.take('198.51.100.1')).toBe(0);
    const wait = await limiter.take('198.51.100.1');
    expect(wait).toBeGreaterThan(59_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    // Another address is not affected.
    expect(await limiter.take('198.51.100.2')).toBe(0);
    const other = new FailedKeyAttemptLimiter({ attempts: 1, windowMs: 60_000 });
    expect(await other.take('198.51.100.3')).toBe(0);
    await other.refund('198.51.100.3');
    expect(await other.take('198.51.100.3')).toBe(0);
    await other.recordFailure('198.51.100.3');
    expect(await other.take('198.51.100.3')).toBeGreaterThan(0);
  });
});

describe('clientAddressResolver', () => {
  const request = (remoteAddress: string, forwardedFor?: string) =>
    ({
      socket: { remoteAddress } as Socket,
      connection: { remoteAddress } as Socket,
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    }) as IncomingMessage;

  test('without a trusted proxy, X-Forwarded-For is ignored', () => {
    expect(clientAddressResolver(false)(request('127.0.0.1', '203.0.113.7'))).toBe('127.0.0.1');
  });
  test('a trusted proxy names the client; an untrusted one does not', () => {
    const resolve = clientAddressResolver(['loopback']);
    expect(resolve(request('127.0.0.1', '203.0.113.7'))).toBe('203.0.113.7');
    expect(resolve(request('198.51.100.1', '203.0.113.7'))).toBe('198.51.100.1');
    // The client cannot hide behind a forged hop: the nearest untrusted address is the client.
    expect(resolve(request('127.0.0.1', '10.9.9.9, 203.0.113.7'))).toBe('203.0.113.7');
  });
  test('a hop count trusts that many proxies', () => {
    expect(clientAddressResolver(1)(request('10.0.0.2', '198.51.100.4, 203.0.113.7'))).toBe('203.0.113.7');
    expect(clientAddressResolver(2)(request('10.0.0.2', '198.51.100.4, 203.0.113.7'))).toBe('198.51.100.4');
  });
});
