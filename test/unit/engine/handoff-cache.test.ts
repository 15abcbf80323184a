import { describe, expect, it } from 'vitest';
import { HandoffCache, type Handoff } from '../../../src/engine/handoff-cache.js';
import type { InstanceRecord, StepRunRecord } from '../../../src/ports/run.store.port.js';

const at = new Date('2026-01-01T00:00:00Z');
const instance = { id: 'i', status: 'RUNNING' } as InstanceRecord;
const handoff = (id: string): Handoff => ({ instance, stepRun: { id, status: 'SCHEDULED', dueAt: at } as StepRunRecord });

describe('HandoffCache', () => {
  it('gives an entry once', () => {
    const cache = new HandoffCache({ maxEntries: 10, maxAgeMs: 1000, now: () => 0 });
    cache.put(handoff('a'));
    expect(cache.take('a')?.stepRun.id).toBe('a');
    expect(cache.take('a')).toBeUndefined();
    expect(cache.take('unknown')).toBeUndefined();
  });

  it('does not give an entry older than maxAgeMs, and drops it', () => {
    let now = 0;
    const cache = new HandoffCache({ maxEntries: 10, maxAgeMs: 1000, now: () => now });
    cache.put(handoff('a'));
    cache.put(handoff('b'));
    now = 1000;
    expect(cache.take('a')?.stepRun.id).toBe('a');
    now = 1001;
    expect(cache.take('b')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops entries too old to be used when new ones come in', () => {
    let now = 0;
    const cache = new HandoffCache({ maxEntries: 10, maxAgeMs: 1000, now: () => now });
    cache.put(handoff('a'));
    now = 600;
    cache.put(handoff('b'));
    now = 1500;
    cache.put(handoff('c'));
    expect(cache.size).toBe(2);
    expect(cache.take('b')?.stepRun.id).toBe('b');
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = new HandoffCache({ maxEntries: 2, maxAgeMs: 1000, now: () => 0 });
    cache.put(handoff('a'));
    cache.put(handoff('b'));
    cache.put(handoff('c'));
    expect(cache.size).toBe(2);
    expect(cache.take('a')).toBeUndefined();
    expect(cache.take('b')?.stepRun.id).toBe('b');
    expect(cache.take('c')?.stepRun.id).toBe('c');
  });
});
