import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;
type Address = IPv4 | IPv6;

/** Why a target is refused. */
export const BlockReason = {
  UNSPECIFIED: 'unspecified',
  LOOPBACK: 'loopback',
  PRIVATE: 'private',
  UNIQUE_LOCAL: 'uniqueLocal',
  CARRIER_GRADE_NAT: 'carrierGradeNat',
  LINK_LOCAL: 'linkLocal',
  MULTICAST: 'multicast',
  BROADCAST: 'broadcast',
  /** Cloud instance-metadata endpoints, by name or address. */
  METADATA: 'metadata',
  /** Names that only mean something inside a network (localhost, *.internal, single labels...). */
  LOCAL_NAME: 'localName',
  /** Anything else outside global unicast: documentation, benchmarking, reserved, tunnels... */
  NOT_GLOBAL: 'notGlobal',
  INVALID: 'invalid',
} as const;
export type BlockReason = (typeof BlockReason)[keyof typeof BlockReason];

/** The policy's answer for one address. */
export type AddressVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: BlockReason };

/**
 * The policy's answer for a host before resolution: refused outright, trusted by name (its
 * addresses are not checked), or to be resolved with every address checked.
 */
export type HostVerdict =
  | { readonly kind: 'blocked'; readonly reason: BlockReason }
  | { readonly kind: 'trusted' }
  | { readonly kind: 'literal'; readonly address: string }
  | { readonly kind: 'resolve' };

/** Options of an {@link AddressPolicy}. */
export interface AddressPolicyOptions {
  /**
   * Opens loopback, RFC 1918, unique-local (fc00::/7) and CGNAT addresses and local names, for
   * self-hosted setups calling their own services. Link-local (cloud metadata lives there),
   * metadata endpoints, unspecified and multicast addresses stay refused.
   */
  readonly allowPrivateNetworks: boolean;
  /**
   * Exempt from every check: host names (exact, case-insensitive), IP addresses and CIDR ranges
   * (`10.1.2.0/24`, `fd00::/8`). A name is trusted whatever it resolves to; an address or range
   * admits resolved addresses inside it.
   */
  readonly allowedHosts?: readonly string[];
}

/** Names of metadata services, refused even on private networks. */
const METADATA_NAMES: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);
/** Metadata addresses outside link-local, refused even on private networks. */
const METADATA_ADDRESSES: readonly [Address, number][] = [
  ipaddr.parseCIDR('fd00:ec2::/32'), // AWS IMDS and EKS pod identity over IPv6
  ipaddr.parseCIDR('100.100.100.200/32'), // Alibaba Cloud
];
/** Suffixes of names that resolve only inside a network (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal). */
const LOCAL_SUFFIXES = ['localhost', 'local', 'internal', 'home.arpa', 'localdomain'];
/** Ranges that allowPrivateNetworks opens. */
const PRIVATE_RANGES: ReadonlySet<string> = new Set(['loopback', 'private', 'uniqueLocal', 'carrierGradeNat']);
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

/** Lower case, no trailing dot, no IPv6 brackets, numeric IPv4 forms (`2130706433`, `0x7f.1`) as dotted quads. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  h = h.replace(/\.+$/, '');
  if (isIP(h) !== 0 || h === '') return h;
  try {
    // The WHATWG host parser is what turned URLs into hosts in the first place; reuse its IPv4 rules.
    const parsed = new URL(`http://${h}/`).hostname;
    return isIP(parsed) === 4 ? parsed : h;
  } catch {
    return h;
  }
}

/** The IPv4 address an IPv6 address embeds and is delivered to (mapped, translated, NAT64, 6to4), if any. */
function embeddedIPv4(address: IPv6): IPv4 | undefined {
  const p = address.parts;
  const fromParts = (hi: number, lo: number): IPv4 => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const range = address.range() as string;
  if (range === 'ipv4Mapped' || range === 'rfc6145' || address.match(NAT64_WELL_KNOWN)) {
    return fromParts(p[6] ?? 0, p[7] ?? 0);
  }
  if (range === '6to4') return fromParts(p[1] ?? 0, p[2] ?? 0);
  return undefined;
}

const matches = (address: Address, [net, bits]: [Address, number]): boolean =>
  address.kind() === net.kind() && address.match([net, bits]);

/**
 * Decides which hosts and addresses outbound HTTP may reach. Only global unicast addresses pass by
 * default; IPv6 addresses that embed an IPv4 address are judged by it.
 */
export class AddressPolicy {
  private readonly allowPrivate: boolean;
  private readonly trustedNames = new Set<string>();
  private readonly allowedRanges: [Address, number][] = [];

  constructor(options: AddressPolicyOptions) {
    this.allowPrivate = options.allowPrivateNetworks;
    for (const entry of options.allowedHosts ?? []) {
      const cidr = entry.trim().toLowerCase().replace(/^\[([^\]]*)\]/, '$1');
      if (ipaddr.isValidCIDR(cidr)) {
        this.allowedRanges.push(ipaddr.parseCIDR(cidr));
        continue;
      }
      const value = normalizeHost(entry);
      if (value === '') continue;
      if (isIP(value) !== 0) {
        const address = ipaddr.parse(value);
        this.allowedRanges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
      } else if (/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(value)) {
        this.trustedNames.add(value);
      } else {
        throw new Error(`allowedHosts: '${entry}' is not a host name, an IP address or a CIDR range`);
      }
    }
  }

  /** Judges a URL's host before any resolution. */
  judgeHost(host: string): HostVerdict {
    const name = normalizeHost(host);
    if (name === '') return { kind: 'blocked', reason: BlockReason.INVALID };
    if (this.trustedNames.has(name)) return { kind: 'trusted' };
    if (isIP(name) !== 0) {
      const verdict = this.judgeAddress(name);
      return verdict.allowed ? { kind: 'literal', address: name } : { kind: 'blocked', reason: verdict.reason };
    }
    if (METADATA_NAMES.has(name)) return { kind: 'blocked', reason: BlockReason.METADATA };
    if (!this.allowPrivate) {
      const local = !name.includes('.') || LOCAL_SUFFIXES.some((s) => name === s || name.endsWith(`.${s}`));
      if (local) return { kind: 'blocked', reason: BlockReason.LOCAL_NAME };
    }
    return { kind: 'resolve' };
  }

  /** Judges one resolved (or literal) address. */
  judgeAddress(ip: string): AddressVerdict {
    let address: Address;
    try {
      address = ipaddr.parse(normalizeHost(ip));
    } catch {
      return { allowed: false, reason: BlockReason.INVALID };
    }
    const embedded = address.kind() === 'ipv6' ? embeddedIPv4(address as IPv6) : undefined;
    if (this.isAllowListed(address) || (embedded !== undefined && this.isAllowListed(embedded))) {
      return { allowed: true };
    }
    if (embedded !== undefined) return this.judgeRange(embedded);
    return this.judgeRange(address);
  }

  private isAllowListed(address: Address): boolean {
    return this.allowedRanges.some((range) => matches(address, range));
  }

  private judgeRange(address: Address): AddressVerdict {
    if (METADATA_ADDRESSES.some((range) => matches(address, range))) {
      return { allowed: false, reason: BlockReason.METADATA };
    }
    const range = address.range() as string;
    if (range === 'unicast') {
      if (address.kind() === 'ipv4' || matches(address, GLOBAL_UNICAST_V6)) return { allowed: true };
      // IPv4-compatible (::/96), deprecated site-local and other unassigned IPv6 space.
      return { allowed: false, reason: BlockReason.NOT_GLOBAL };
    }
    if (PRIVATE_RANGES.has(range) && this.allowPrivate) return { allowed: true };
    switch (range) {
      case 'unspecified':
        return { allowed: false, reason: BlockReason.UNSPECIFIED };
      case 'loopback':
        return { allowed: false, reason: BlockReason.LOOPBACK };
      case 'private':
        return { allowed: false, reason: BlockReason.PRIVATE };
      case 'uniqueLocal':
        return { allowed: false, reason: BlockReason.UNIQUE_LOCAL };
      case 'carrierGradeNat':
        return { allowed: false, reason: BlockReason.CARRIER_GRADE_NAT };
      case 'linkLocal':
        return { allowed: false, reason: BlockReason.LINK_LOCAL };
      case 'multicast':
        return { allowed: false, reason: BlockReason.MULTICAST };
      case 'broadcast':
        return { allowed: false, reason: BlockReason.BROADCAST };
      default:
        return { allowed: false, reason: BlockReason.NOT_GLOBAL };
    }
  }
}
