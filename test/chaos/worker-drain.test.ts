import { test } from 'vitest';
import { describeChaos, expectTargets } from './chaos-test-support.js';
import { workerDrain } from './worker-drain.scenario.js';

describeChaos('chaos: worker SIGTERM with 20 s steps', () => {
  test('exits 0 within the grace; its unfinished steps restart on the other worker within 2 s, not after the lease', { timeout: 150_000 }, async () => {
    expectTargets(await workerDrain({ size: 20 }));
  });
});
