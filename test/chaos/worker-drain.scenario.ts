import { expectedKey } from '../support/call-receiver.js';
import { callsInFlightAt, maxOf, workerNamesOf } from './fault-figures.js';
import { atMost, exactly, verdict, type ScenarioResult } from './figures.js';
import { callStep, CHAOS_ENV, endDeadlineMs, FETCH, measure, openRig, workloadSteps } from './workload.js';

/** The first send of every `fetch` call is answered this late: longer than the grace. */
export const LONG_STEP_MS = 20_000;
const GRACE_MS = 3_000;
/** How much longer than the grace the exit may take (stopping the rest of the process). */
const EXIT_MARGIN_MS = 2_000;
/** How soon after the exit another worker must have started each handed-back step. */
const RESTART_BOUND_MS = 2_000;

/**
 * SIGTERM of a worker while every instance's first HTTP call takes 20 s, with a 3 s grace and a
 * lease much longer than both (so a step restarted within seconds was handed back, not expired).
 * Targets: exit 0 within the grace (plus a margin); every unfinished step restarted by the other
 * worker within 2 s of the exit; every instance completes; re-sends keyed like their first send.
 */
export async function workerDrain(options: { size: number }): Promise<ScenarioResult> {
  const env = { ...CHAOS_ENV, STEP_LEASE_MS: '10000', SHUTDOWN_GRACE_MS: String(GRACE_MS), WORKER_CONCURRENCY: String(Math.max(20, options.size)) };
  const rig = await openRig({ env, workers: 2 });
  try {
    const sent = new Set<string>();
    rig.receiver.respond = (call) => {
      if (call.stepId !== FETCH) return {};
      const first = !sent.has(expectedKey(call));
      sent.add(expectedKey(call));
      return first ? { delayMs: LONG_STEP_MS } : {};
    };
    const steps = workloadSteps(rig.receiver.url).map((s) => (s.id === FETCH ? callStep(rig.receiver.url, FETCH, { timeoutMs: LONG_STEP_MS + 10_000 }) : s));
    const workflowId = await rig.deployment.publishChain('chaos: worker SIGTERM with long steps', steps);
    const startedAt = Date.now();
    await rig.deployment.startInstances(workflowId, Array.from({ length: options.size }, () => ({})));
    const problems: string[] = [];
    await rig.receiver
      .waitFor((calls) => calls.filter((c) => c.stepId === FETCH).length >= options.size, { timeoutMs: endDeadlineMs(options.size), what: 'every first call' })
      .catch((err: Error) => problems.push(err.message));
    const open = rig.receiver.open();
    const victim = [...rig.deployment.workers].sort((a, b) => open.filter((c) => c.sender === b.name).length - open.filter((c) => c.sender === a.name).length)[0]!;
    const termAt = Date.now();
    const exitOrTimeout = await Promise.race([
      victim.signal('SIGTERM'),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), LONG_STEP_MS + 30_000)),
    ]);
    if (!exitOrTimeout) {
      problems.push(`${victim.name} had not exited ${LONG_STEP_MS + 30_000} ms after SIGTERM`);
      await victim.kill9();
    }
    const exit = victim.exitInfo!;
    const end = await rig.reader.waitForEnded(workflowId, options.size, endDeadlineMs(options.size) + LONG_STEP_MS);
    const { figures, events, calls } = await measure(rig, workflowId, { instances: options.size, startedAt });

    // Steps the worker had not finished when it exited (its call sent, no outcome committed) must be
    // handed back; those it finished within the grace need not be.
    const handedBack = new Set(callsInFlightAt({ calls, events, sender: victim.name, at: exit.at }).map(expectedKey));
    const restarts: number[] = [];
    for (const key of handedBack) {
      const restart = events.find((e) => e.event === 'start' && `${e.instanceId}:${e.stepId}` === key && e.at > termAt);
      restarts.push(restart ? restart.at - exit.at : Number.POSITIVE_INFINITY);
    }
    const restartMax = maxOf(restarts);
    const names = workerNamesOf({ calls, events, sender: victim.name });
    const startsByVictimAfterTerm = names.size
      ? events.filter((e) => e.event === 'start' && e.at > termAt && names.has(String(e.detail?.worker))).length
      : null;
    return verdict('worker SIGTERM with 20 s steps', options.size, {
      settings: env,
      timedOut: end.timedOut,
      problems,
      victim: victim.name,
      handedBack: handedBack.size,
      exitCode: exit.code,
      exitSignal: exit.signal,
      exitAfterTermMs: exit.at - termAt,
      restartAfterExitMaxMs: restartMax !== null && Number.isFinite(restartMax) ? restartMax : null,
      restartedWithin2s: restarts.filter((r) => r <= RESTART_BOUND_MS).length,
      neverRestarted: restarts.filter((r) => !Number.isFinite(r)).length,
      startsByVictimAfterTerm,
      ...figures,
    }, {
      handedBack: exactly(handedBack.size > 0, true),
      exitCode: exactly(exit.code, 0),
      exitAfterTermMs: atMost(exit.at - termAt, GRACE_MS + EXIT_MARGIN_MS),
      restartAfterExitMaxMs: atMost(restartMax, RESTART_BOUND_MS),
      allCompleted: exactly(figures.completed, options.size),
      duplicatesNotKeyedLikeFirst: exactly(figures.calls.duplicatesNotKeyedLikeFirst, 0),
      callsWithoutKey: exactly(figures.calls.callsWithoutKey, 0),
      smsStepsWithoutOneMessage: exactly(figures.smsStepsWithoutOneMessage, 0),
      ...(startsByVictimAfterTerm === null ? {} : { startsByVictimAfterTerm: exactly(startsByVictimAfterTerm, 0) }),
    });
  } finally {
    await rig.close();
  }
}
