import { test } from 'vitest';
import { describeChaos, expectTargets } from './chaos-test-support.js';
import { workerKill } from './worker-kill.scenario.js';

describeChaos('chaos: worker kill -9 during HTTP calls', () => {
  test('twice, each replaced: all complete, only calls in flight are re-sent and with their first key, takeover within lease + sweep', { timeout: 150_000 }, async () => {
    expectTargets(await workerKill({ size: 30 }));
  });
});
