import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AttemptLease, LeaseLostError } from '../../../src/engine/attempt-lease.js';

/** A lease on a hand-moved monotonic clock, with an extension the test answers. */
function lease(options: { leaseMs?: number; extend?: () => Promise<boolean> } = {}) {
  let now = 1_000;
  const lost: string[] = [];
  const calls: { fence: number; leaseMs: number }[] = [];
  const l = new AttemptLease({
    runs: {
      extendLease: async (args) => {
        calls.push({ fence: args.fence, leaseMs: args.leaseMs });
        return (options.extend ?? (async () => true))();
      },
    },
    stepRunId: 'r',
    fence: 7,
    leaseMs: options.leaseMs ?? 3_000,
    claimedAt: now,
    logger: pino({ level: 'silent' }),
    onLost: (reason) => lost.push(reason),
    monotonicNow: () => now,
  });
  return { l, lost, calls, advance: (ms: number) => (now += ms), extendNow: () => (l as unknown as { extend(): void }).extend() };
}

describe('AttemptLease', () => {
  it('is held from the claim until its deadline less a margin, then refuses sends', () => {
    const { l, lost, advance } = lease();
    expect(() => l.assertHeld()).not.toThrow();
    advance(2_500);
    expect(() => l.assertHeld()).not.toThrow();
    // Within the margin (a tenth of the lease) of the deadline: a send might land after it.
    advance(250);
    expect(() => l.assertHeld()).toThrow(LeaseLostError);
    expect(lost).toEqual([]);
    advance(250);
    expect(l.lost).toMatch(/ran out/);
    expect(lost).toHaveLength(1);
  });

  it('a process paused past its lease finds it gone on waking, before it hears anything', () => {
    const { l, lost, advance } = lease();
    advance(40_000); // SIGSTOP for 40 s
    expect(() => l.assertHeld()).toThrow(/Not sent: the step lease ran out/);
    expect(lost).toHaveLength(1);
  });

  it('an extension names the fence and moves the deadline on from when it was sent', async () => {
    const { l, calls, advance, extendNow } = lease();
    advance(2_000);
    extendNow();
    await l.stop();
    expect(calls).toEqual([{ fence: 7, leaseMs: 3_000 }]);
    advance(2_500); // 4.5 s after the claim, 2.5 s after the extension was sent
    expect(() => l.assertHeld()).not.toThrow();
  });

  it('an extension the store refuses (taken over, cancelled) ends the lease at once', async () => {
    const { l, lost, extendNow } = lease({ extend: async () => false });
    extendNow();
    await l.stop();
    expect(lost).toEqual(['the step was cancelled or taken over by another worker']);
    expect(() => l.assertHeld()).toThrow(LeaseLostError);
  });

  it('an extension that fails (the database restarting) keeps the old deadline', async () => {
    const { l, lost, advance, extendNow } = lease({ extend: async () => Promise.reject(new Error('ECONNREFUSED')) });
    advance(1_000);
    extendNow();
    await l.stop();
    expect(lost).toEqual([]);
    advance(2_100);
    expect(l.lost).toBeDefined();
  });
});
