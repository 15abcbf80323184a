import { expectedKey } from '../support/call-receiver.js';
import { callsInFlightAt, maxOf, takeovers } from './fault-figures.js';
import { atMost, exactly, verdict, type ScenarioResult } from './figures.js';
import { CALLS_PER_INSTANCE, CHAOS_ENV, endDeadlineMs, leaseMs, measure, openRig, sweepMs, workloadSteps } from './workload.js';

/** Calls are answered this late, so a kill always finds some in flight. */
const ANSWER_DELAY_MS = 300;

/**
 * `kill -9` of a worker twice while it has HTTP calls in flight (first one original worker, then
 * the other), each replaced by a fresh worker at once. Targets: every instance completes, one
 * sandbox message per sms step, re-sent calls no more than the calls in flight at the kills and
 * each keyed like its first send, each cut-off step handed back within lease + sweep interval
 * and started again within that plus a scheduler poll.
 */
export async function workerKill(options: { size: number }): Promise<ScenarioResult> {
  const env = { ...CHAOS_ENV };
  const rig = await openRig({ env, workers: 2 });
  try {
    rig.receiver.respond = () => ({ delayMs: ANSWER_DELAY_MS });
    const workflowId = await rig.deployment.publishChain('chaos: worker kill -9', workloadSteps(rig.receiver.url));
    const startedAt = Date.now();
    const starting = rig.deployment.startInstances(workflowId, Array.from({ length: options.size }, () => ({})));
    const totalCalls = options.size * CALLS_PER_INSTANCE;
    const kills: { victim: string; at: number; openCalls: number }[] = [];
    const problems: string[] = [];
    for (const [fraction, victim] of [
      [0.25, rig.deployment.workers[0]!],
      [0.6, rig.deployment.workers[1]!],
    ] as const) {
      try {
        await rig.receiver.waitFor(
          (calls) => calls.length >= totalCalls * fraction && rig.receiver.open().some((c) => c.sender === victim.name),
          { timeoutMs: endDeadlineMs(options.size), what: `${victim.name} to have calls in flight past ${fraction * 100}% of the calls` },
        );
      } catch (err) {
        problems.push((err as Error).message);
        break;
      }
      kills.push({ victim: victim.name, at: Date.now(), openCalls: rig.receiver.open().filter((c) => c.sender === victim.name).length });
      await victim.kill9();
      await rig.deployment.addWorker();
    }
    await starting;
    const end = await rig.reader.waitForEnded(workflowId, options.size, endDeadlineMs(options.size));
    const { figures, events, calls } = await measure(rig, workflowId, { instances: options.size, startedAt });
    // A call arriving unnamed after a kill was sent by its victim before it died (see callsInFlightAt).
    const cut = kills.map((k, i) => ({
      at: k.at,
      calls: callsInFlightAt({ calls, events, sender: k.victim, at: k.at, died: true, orphansUntil: kills[i + 1]?.at ?? Number.POSITIVE_INFINITY }),
    }));
    const inFlight = cut.flatMap((k) => k.calls);
    const taken = takeovers(events, cut.map((k) => ({ at: k.at, keys: new Set(k.calls.map(expectedKey)) })));
    const handBackMax = maxOf(taken.map((t) => t.handBackMs));
    const restartMax = maxOf(taken.map((t) => t.restartMs));
    // A handed-back step is due at once: a worker takes it when notified, at the latest on its next poll.
    const restartBound = leaseMs(env) + sweepMs(env) + Number(env.SCHEDULER_POLL_MS);
    return verdict('worker kill -9 twice', options.size, {
      settings: env,
      answerDelayMs: ANSWER_DELAY_MS,
      timedOut: end.timedOut,
      problems,
      kills,
      callsInFlightAtKills: inFlight.length,
      takeovers: taken.length,
      neverHandedBack: taken.filter((t) => !Number.isFinite(t.handBackMs)).length,
      neverRestarted: taken.filter((t) => !Number.isFinite(t.restartMs)).length,
      handBackMaxMs: handBackMax,
      restartMaxMs: restartMax,
      ...figures,
    }, {
      kills: exactly(kills.length, 2),
      allCompleted: exactly(figures.completed, options.size),
      smsStepsWithoutOneMessage: exactly(figures.smsStepsWithoutOneMessage, 0),
      duplicateCalls: atMost(figures.calls.duplicateCalls, inFlight.length),
      duplicatesNotKeyedLikeFirst: exactly(figures.calls.duplicatesNotKeyedLikeFirst, 0),
      callsWithoutKey: exactly(figures.calls.callsWithoutKey, 0),
      handBackMaxMs: atMost(handBackMax ?? 0, leaseMs(env) + sweepMs(env)),
      restartMaxMs: atMost(restartMax ?? 0, restartBound),
      eventLogGaps: exactly(figures.eventLogGaps, 0),
    });
  } finally {
    await rig.close();
  }
}
