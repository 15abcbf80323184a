import { describe, expect, test } from 'vitest';
import { AddressPolicy, normalizeHost } from '../../../src/providers/address-policy.js';
import { resolveChecked, type HostResolver } from '../../../src/providers/checked-lookup.js';
import { ProviderFailure } from '../../../src/providers/provider-failure.js';
import { SafeHttpClient } from '../../../src/providers/safe-http.client.js';

const strict = new AddressPolicy({ allowPrivateNetworks: false });
const permissive = new AddressPolicy({ allowPrivateNetworks: true });

/** [address, reason when blocked by the strict policy or 'allowed', allowed on private networks?] */
const ADDRESSES: readonly [string, string, boolean][] = [
  ['8.8.8.8', 'allowed', true],
  ['93.184.215.14', 'allowed', true],
  ['172.32.0.1', 'allowed', true],
  ['2606:4700:4700::1111', 'allowed', true],
  ['::ffff:8.8.8.8', 'allowed', true],
  ['127.0.0.1', 'loopback', true],
  ['127.255.255.254', 'loopback', true],
  ['::1', 'loopback', true],
  ['[::1]', 'loopback', true],
  ['::ffff:127.0.0.1', 'loopback', true],
  ['::ffff:7f00:1', 'loopback', true],
  ['0.0.0.0', 'unspecified', false],
  ['::', 'unspecified', false],
  ['10.1.2.3', 'private', true],
  ['172.16.0.1', 'private', true],
  ['172.31.255.255', 'private', true],
  ['192.168.1.1', 'private', true],
  ['::ffff:10.0.0.1', 'private', true],
  ['::ffff:192.168.0.1', 'private', true],
  ['fc00::1', 'uniqueLocal', true],
  ['fd12:3456::1', 'uniqueLocal', true],
  ['100.64.0.1', 'carrierGradeNat', true],
  ['100.127.255.254', 'carrierGradeNat', true],
  ['169.254.169.254', 'linkLocal', false],
  ['169.254.170.2', 'linkLocal', false],
  ['::ffff:169.254.169.254', 'linkLocal', false],
  ['fe80::1', 'linkLocal', false],
  ['fd00:ec2::254', 'metadata', false],
  ['100.100.100.200', 'metadata', false],
  ['224.0.0.1', 'multicast', false],
  ['239.255.255.250', 'multicast', false],
  ['ff02::1', 'multicast', false],
  ['255.255.255.255', 'broadcast', false],
  ['192.0.2.10', 'notGlobal', false],
  ['240.0.0.1', 'notGlobal', false],
  ['2001:db8::1', 'notGlobal', false],
  // IPv4-compatible, NAT64, 6to4 and Teredo forms.
  ['::7f00:1', 'notGlobal', false],
  ['64:ff9b::a9fe:a9fe', 'linkLocal', false],
  ['64:ff9b::7f00:1', 'loopback', true],
  ['2002:7f00:1::1', 'loopback', true],
  ['2002:a9fe:a9fe::1', 'linkLocal', false],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'notGlobal', false],
  ['fec0::1', 'notGlobal', false],
  ['not-an-ip', 'invalid', false],
];

describe('AddressPolicy.judgeAddress', () => {
  test.each(ADDRESSES)('%s → %s (strict)', (address, expected) => {
    const verdict = strict.judgeAddress(address);
    expect(verdict.allowed ? 'allowed' : verdict.reason).toBe(expected);
  });

  test.each(ADDRESSES)('%s with allowPrivateNetworks', (address, _strict, allowedOnPrivate) => {
    expect(permissive.judgeAddress(address).allowed).toBe(allowedOnPrivate);
  });

  test('allowedHosts addresses and ranges override the block, mapped forms included', () => {
    const policy = new AddressPolicy({
      allowPrivateNetworks: false,
      allowedHosts: ['10.20.0.0/16', '169.254.169.254', '[fd00::5]'],
    });
    expect(policy.judgeAddress('10.20.3.4').allowed).toBe(true);
    expect(policy.judgeAddress('::ffff:10.20.3.4').allowed).toBe(true);
    expect(policy.judgeAddress('10.21.0.1').allowed).toBe(false);
    expect(policy.judgeAddress('169.254.169.254').allowed).toBe(true);
    expect(policy.judgeAddress('169.254.169.253').allowed).toBe(false);
    expect(policy.judgeAddress('fd00::5').allowed).toBe(true);
    expect(policy.judgeAddress('fd00::6').allowed).toBe(false);
  });

  test('rejects malformed allowedHosts entries', () => {
    expect(() => new AddressPolicy({ allowPrivateNetworks: false, allowedHosts: ['http://x/'] })).toThrow(/allowedHosts/);
  });
});

describe('AddressPolicy.judgeHost', () => {
  const HOSTS: readonly [string, string][] = [
    ['2130706433', 'blocked:loopback'],
    ['0x7f000001', 'blocked:loopback'],
    ['0177.0.0.1', 'blocked:loopback'],
    ['127.1', 'blocked:loopback'],
    ['0', 'blocked:unspecified'],
    ['[::1]', 'blocked:loopback'],
    ['[::ffff:127.0.0.1]', 'blocked:loopback'],
    ['localhost', 'blocked:localName'],
    ['LOCALHOST.', 'blocked:localName'],
    ['app.localhost', 'blocked:localName'],
    ['printer.local', 'blocked:localName'],
    ['db.internal', 'blocked:localName'],
    ['intranet', 'blocked:localName'],
    ['metadata.google.internal', 'blocked:metadata'],
    ['Metadata.Google.Internal.', 'blocked:metadata'],
    ['metadata', 'blocked:metadata'],
    ['example.com', 'resolve'],
    ['8.8.8.8', 'literal'],
  ];
  test.each(HOSTS)('%s → %s', (host, expected) => {
    const verdict = strict.judgeHost(host);
    expect(verdict.kind === 'blocked' ? `blocked:${verdict.reason}` : verdict.kind).toBe(expected);
  });

  test('private networks open local names but never metadata names', () => {
    expect(permissive.judgeHost('localhost').kind).toBe('resolve');
    expect(permissive.judgeHost('metadata.google.internal').kind).toBe('blocked');
  });

  test('an allow-listed name is trusted', () => {
    const policy = new AddressPolicy({ allowPrivateNetworks: false, allowedHosts: ['CRM.corp.example.'] });
    expect(policy.judgeHost('crm.corp.example').kind).toBe('trusted');
  });

  test('normalizeHost turns numeric IPv4 forms into dotted quads', () => {
    expect(normalizeHost('2130706433')).toBe('127.0.0.1');
    expect(normalizeHost('0x7f.0.0.1')).toBe('127.0.0.1');
    expect(normalizeHost('[::1]')).toBe('::1');
    expect(normalizeHost('Example.COM.')).toBe('example.com');
  });
});

/** A resolver answering from a table; records every name it is asked. */
const fakeResolver = (table: Record<string, string[]>): HostResolver & { asked: string[] } => {
  const asked: string[] = [];
  const resolve = async (host: string) => {
    asked.push(host);
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  };
  return Object.assign(resolve, { asked });
};

describe('resolveChecked', () => {
  const resolver = fakeResolver({
    'public.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'internal.example': ['10.0.0.5'],
    'mapped.example': ['::ffff:10.0.0.1'],
    'mixed.example': ['93.184.215.14', '127.0.0.1'],
    'metadata-alias.example': ['169.254.169.254'],
    'crm.corp.example': ['10.9.9.9'],
  });

  test('a name resolving to public addresses passes with all its addresses', async () => {
    const addresses = await resolveChecked(strict, resolver, 'public.example');
    expect(addresses.map((a) => a.address)).toEqual(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']);
  });

  test.each(['internal.example', 'mapped.example', 'mixed.example', 'metadata-alias.example'])(
    '%s is refused after resolution',
    async (host) => {
      await expect(resolveChecked(strict, resolver, host)).rejects.toMatchObject({
        code: 'BLOCKED_ADDRESS',
        retryable: false,
      });
    },
  );

  test('names refused by name are never resolved', async () => {
    const asked = resolver.asked.length;
    await expect(resolveChecked(strict, resolver, 'metadata.google.internal')).rejects.toBeInstanceOf(ProviderFailure);
    expect(resolver.asked.length).toBe(asked);
  });

  test('a trusted name passes whatever it resolves to', async () => {
    const policy = new AddressPolicy({ allowPrivateNetworks: false, allowedHosts: ['crm.corp.example'] });
    expect(await resolveChecked(policy, resolver, 'crm.corp.example')).toEqual([{ address: '10.9.9.9', family: 4 }]);
  });
});

describe('SafeHttpClient refuses before connecting', () => {
  const resolver = fakeResolver({ 'internal.example': ['192.168.0.10'], 'rebind.example': ['93.184.215.14', '::1'] });
  const client = new SafeHttpClient({ allowPrivateNetworks: false, resolve: resolver });
  const get = (url: string) =>
    client.request({ method: 'GET', url, headers: {}, timeoutMs: 2_000, maxResponseBytes: 1_000 });

  test.each([
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0.0.0.0:8080/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://localhost:4000/',
    'http://internal.example/',
    'https://rebind.example/',
  ])('%s', async (url) => {
    await expect(get(url)).rejects.toMatchObject({ code: 'BLOCKED_ADDRESS', retryable: false });
  });

  test.each(['ftp://example.com/file', 'file:///etc/passwd', 'http://user:pw@example.com/'])('%s is not a supported URL', async (url) => {
    await expect(get(url)).rejects.toMatchObject({ code: 'UNSUPPORTED_URL', retryable: false });
  });
});
