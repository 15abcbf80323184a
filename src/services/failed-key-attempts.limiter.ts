import ipaddr from 'ipaddr.js';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/** How many failed key attempts one client address may make, and over how long. */
export interface FailedKeyAttemptLimits {
  /** Failed attempts an address may make per window; the next one is refused until the window ends. */
  readonly attempts: number;
  readonly windowMs: number;
}

/**
 * The limiter's key for a client address. An IPv6 client usually holds a whole /64 and can pick any
 * address in it, so IPv6 addresses count per /64; an IPv4-mapped IPv6 address counts as its IPv4.
 * Anything that does not parse (a Unix socket, say) is its own key.
 */
export function clientKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}

/**
 * Counts failed API-key attempts per client address in memory (per process), in fixed windows
 * (rate-limiter-flexible's memory limiter). Only failures count: a client whose keys work is never
 * counted, however often it calls.
 */
export class FailedKeyAttemptLimiter {
  private readonly limiter: RateLimiterMemory;

  constructor(private readonly limits: FailedKeyAttemptLimits) {
    this.limiter = new RateLimiterMemory({ points: limits.attempts, duration: limits.windowMs / 1000 });
  }

  /**
   * Counts an attempt of `address` with a key not known to work, before it is looked up (so that
   * attempts sent together cannot all slip under the limit). Returns how long the address must wait
   * when it is over its allowance, or 0: then look the key up, and `refund` the attempt if it works.
   */
  async take(address: string): Promise<number> {
    try {
      await this.limiter.consume(clientKey(address));
      return 0;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, rejection.msBeforeNext);
      throw rejection;
    }
  }

  /** Gives back an attempt that `take` counted, once its key turned out to work. */
  async refund(address: string): Promise<void> {
    await this.limiter.reward(clientKey(address));
  }

  /** Counts one failed attempt that `take` did not count (a key that worked before and no longer does). */
  async recordFailure(address: string): Promise<void> {
    await this.limiter.penalty(clientKey(address));
  }
}
