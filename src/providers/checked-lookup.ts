import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { AddressPolicy, BlockReason } from './address-policy.js';
import { ProviderFailure, ProviderFailureCode } from './provider-failure.js';

/** One address a name resolved to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses. */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (getaddrinfo, like every other connection of the process), all addresses in its order. */
export const systemResolver: HostResolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/** How a refusal reads in a step's error. */
const REASON_TEXT: Record<BlockReason, string> = {
  unspecified: 'unspecified address',
  loopback: 'loopback address',
  private: 'private network address',
  uniqueLocal: 'unique-local IPv6 address',
  carrierGradeNat: 'carrier-grade NAT address',
  linkLocal: 'link-local address',
  multicast: 'multicast address',
  broadcast: 'broadcast address',
  metadata: 'cloud metadata endpoint',
  localName: 'name that only resolves inside a network',
  notGlobal: 'address outside the public internet',
  invalid: 'invalid host',
};

/** The rejection for a refused target. */
export const blockedTarget = (host: string, reason: BlockReason, address?: string): ProviderFailure =>
  new ProviderFailure(
    `Refusing to connect to ${host}${address === undefined || address === host ? '' : ` (${address})`}: ${REASON_TEXT[reason]}`,
    { code: ProviderFailureCode.BLOCKED_ADDRESS, retryable: false },
  );

/**
 * Resolves `hostname` once and checks every address it got: one refused address refuses the
 * host, so a name cannot mix a public address with an internal one. Names the policy trusts are
 * resolved without checks. Rejects with a `BLOCKED_ADDRESS` {@link ProviderFailure}.
 */
export async function resolveChecked(
  policy: AddressPolicy,
  resolve: HostResolver,
  hostname: string,
): Promise<readonly ResolvedAddress[]> {
  const verdict = policy.judgeHost(hostname);
  if (verdict.kind === 'blocked') throw blockedTarget(hostname, verdict.reason);
  if (verdict.kind === 'literal') {
    return [{ address: verdict.address, family: verdict.address.includes(':') ? 6 : 4 }];
  }
  const addresses = await resolve(hostname);
  if (addresses.length === 0) {
    throw new ProviderFailure(`${hostname} did not resolve to any address`, {
      code: ProviderFailureCode.NETWORK_ERROR,
      retryable: true,
    });
  }
  if (verdict.kind === 'resolve') {
    for (const { address } of addresses) {
      const judged = policy.judgeAddress(address);
      if (!judged.allowed) throw blockedTarget(hostname, judged.reason, address);
    }
  }
  return addresses;
}

/**
 * A `lookup` for `net`/`http(s)` connections that resolves through {@link resolveChecked}: the
 * socket connects to exactly the addresses that were checked, so a DNS answer that changes
 * between check and connect (rebinding) cannot slip through. Every connection — hence every
 * redirect hop — passes through it. `onFailure` sees a refusal before the socket reports it, so
 * callers can reject with it whatever the socket wraps it in.
 */
export function checkedLookup(
  policy: AddressPolicy,
  resolve: HostResolver,
  onFailure: (failure: ProviderFailure) => void,
): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(policy, resolve, hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = wanted === undefined ? addresses : addresses.filter((a) => a.family === wanted);
        const first = usable[0];
        if (first === undefined) {
          const err: NodeJS.ErrnoException = new Error(`${hostname} has no IPv${wanted} address`);
          err.code = 'ENOTFOUND';
          callback(err, '');
          return;
        }
        if (options.all) {
          const all: LookupAddress[] = usable.map((a) => ({ address: a.address, family: a.family }));
          callback(null, all);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (err: unknown) => {
        if (err instanceof ProviderFailure) onFailure(err);
        callback(err instanceof Error ? err : new Error(String(err)), '');
      },
    );
  };
}
