import { test } from 'vitest';
import { describeChaos, expectTargets } from './chaos-test-support.js';
import { workerPause } from './worker-pause.scenario.js';

describeChaos('chaos: worker SIGSTOP past its lease, then SIGCONT', () => {
  test('the other worker finishes everything; the resumed worker sends, starts and commits nothing', { timeout: 150_000 }, async () => {
    expectTargets(await workerPause({ size: 30 }));
  });
});
