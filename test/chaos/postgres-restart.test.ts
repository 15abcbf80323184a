import { afterAll, beforeAll, test } from 'vitest';
import { PostgresCluster } from '../support/postgres-cluster.js';
import { describeChaos, expectTargets } from './chaos-test-support.js';
import { postgresRestart } from './postgres-restart.scenario.js';

describeChaos('chaos: Postgres restart -m immediate (a cluster of the test\'s own)', () => {
  let cluster: PostgresCluster | { unavailable: string };
  beforeAll(async () => {
    cluster = await PostgresCluster.create();
  }, 180_000);
  afterAll(async () => {
    if (cluster && !('unavailable' in cluster)) await cluster.drop();
  }, 120_000);

  test('processes ride it out, progress within 5 s of it being back, all complete, re-sends keyed like their first send', { timeout: 180_000 }, async (ctx) => {
    if ('unavailable' in cluster) return ctx.skip(cluster.unavailable);
    expectTargets(await postgresRestart({ size: 30, cluster }));
  });
});
