import { describe, expect, it } from 'vitest';
import { LargeValues, type LargeValueSource } from '../../../src/graphql/common/large-values.loader.js';
import { ResponseBudget } from '../../../src/graphql/hardening/response-budget.js';

/** A source that records what it was asked to read. */
function recordingSource(): LargeValueSource & { reads: string[][] } {
  const reads: string[][] = [];
  return {
    reads,
    async stepConfigs(_workflowId, ids) {
      reads.push([...ids]);
      return new Map(ids.map((id) => [id, { id }]));
    },
    async versionGraph() {
      reads.push(['graph']);
      return { steps: [], edges: [] };
    },
    async instanceInputs(ids) {
      reads.push([...ids]);
      return new Map(ids.map((id) => [id, id]));
    },
  };
}

/** A listing that arrives after `ms`. */
const listing = (ms: number, items: { id: string; configBytes: number }[]) =>
  new Promise<typeof items>((resolve) => setTimeout(() => resolve(items), ms));

describe('LargeValues', () => {
  it('reads pages that fit together', async () => {
    const source = recordingSource();
    const values = new LargeValues(source, new ResponseBudget(100));
    const [a, b] = await Promise.all([
      values.stepConfigs('w', listing(5, [{ id: 'a', configBytes: 40 }])),
      values.stepConfigs('w', listing(1, [{ id: 'b', configBytes: 60 }])),
    ]);
    expect(a.get('a')).toEqual({ id: 'a' });
    expect(b.get('b')).toEqual({ id: 'b' });
    expect(source.reads).toHaveLength(2);
  });

  it('reads nothing when pages begun together do not fit together, whichever listing arrives first', async () => {
    const source = recordingSource();
    const values = new LargeValues(source, new ResponseBudget(100));
    const results = await Promise.allSettled([
      values.stepConfigs('w', listing(1, [{ id: 'a', configBytes: 60 }])),
      values.stepConfigs('w', listing(20, [{ id: 'b', configBytes: 60 }])),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(results[0]).toMatchObject({ reason: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxResponseBytes', max: 100 } } });
    expect(source.reads).toEqual([]);
    expect(values.budget.exceeded).toBe(true);
  });

  it('a listing that fails does not hold the other reads', async () => {
    const source = recordingSource();
    const values = new LargeValues(source, new ResponseBudget(100));
    const failing = new Promise<{ id: string; configBytes: number }[]>((_, reject) => setTimeout(() => reject(new Error('bad cursor')), 5));
    const results = await Promise.allSettled([values.stepConfigs('w', failing), values.stepConfigs('w', listing(1, [{ id: 'a', configBytes: 10 }]))]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { message: 'bad cursor' } });
    expect(results[1]).toMatchObject({ status: 'fulfilled' });
    expect(source.reads).toEqual([['a']]);
  });

  it('reads a version graph once, however many fields ask', async () => {
    const source = recordingSource();
    const values = new LargeValues(source, new ResponseBudget(100));
    const version = { workflowId: 'w', version: 1, graphBytes: 50 };
    await Promise.all([values.versionGraph(version), values.versionGraph(version)]);
    expect(source.reads).toEqual([['graph']]);
  });

  it('renews with an empty budget of the same size', () => {
    const values = new LargeValues(recordingSource(), new ResponseBudget(100));
    expect(() => values.budget.reserve(101)).toThrow();
    const next = values.renew();
    expect(next.budget.exceeded).toBe(false);
    expect(next.budget.maxBytes).toBe(100);
  });
});
