import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * Which proxies may tell the server who the client is (`X-Forwarded-For`): none (`false`), every
 * one (`true`), the nearest `n` hops, or proxies at these addresses, CIDRs or the names
 * `loopback`, `linklocal`, `uniquelocal` (as Express's `trust proxy` setting).
 */
export type TrustProxy = boolean | number | readonly string[];

/** The address of the client a request comes from, as the TRUST_PROXY setting lets the server tell. */
export type ClientAddressOf = (request: IncomingMessage) => string;

/**
 * With no proxy trusted, the client is the socket's peer and `X-Forwarded-For` is ignored (anyone
 * can send it). Otherwise proxy-addr (Express's own) walks `X-Forwarded-For` from the nearest hop
 * back while the hop is trusted, and the first untrusted address is the client.
 */
export function clientAddressResolver(trust: TrustProxy): ClientAddressOf {
  // A socket closed before its address was read has none; it still needs a key of its own.
  const peer = (request: IncomingMessage) => request.socket.remoteAddress ?? 'unknown';
  if (trust === false) return peer;
  const trusted =
    trust === true ? () => true : typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : proxyaddr.compile([...trust]);
  return (request) => (request.socket.remoteAddress ? proxyaddr(request, trusted) : 'unknown');
}
