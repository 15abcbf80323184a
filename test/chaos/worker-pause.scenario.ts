import { callsInFlightAt, staleCommits, workerNamesOf } from './fault-figures.js';
import { exactly, verdict, type ScenarioResult } from './figures.js';
import { CALLS_PER_INSTANCE, CHAOS_ENV, endDeadlineMs, leaseMs, measure, openRig, sweepMs, workloadSteps } from './workload.js';

const ANSWER_DELAY_MS = 300;

/**
 * SIGSTOP of a worker with calls in flight, kept stopped until the other worker has taken over its
 * steps and finished every instance (so past its lease), then SIGCONT. Whatever the resumed worker
 * does then is stale: targets are no call, no event and no step-run change after it resumes.
 */
export async function workerPause(options: { size: number }): Promise<ScenarioResult> {
  const env = { ...CHAOS_ENV };
  const rig = await openRig({ env, workers: 2 });
  try {
    rig.receiver.respond = () => ({ delayMs: ANSWER_DELAY_MS });
    const [paused] = rig.deployment.workers;
    const workflowId = await rig.deployment.publishChain('chaos: worker SIGSTOP', workloadSteps(rig.receiver.url));
    const startedAt = Date.now();
    const starting = rig.deployment.startInstances(workflowId, Array.from({ length: options.size }, () => ({})));
    const problems: string[] = [];
    let reached = true;
    try {
      await rig.receiver.waitFor(
        (calls) => calls.length >= options.size * CALLS_PER_INSTANCE * 0.3 && rig.receiver.open().some((c) => c.sender === paused!.name),
        { timeoutMs: endDeadlineMs(options.size), what: `${paused!.name} to have calls in flight` },
      );
    } catch (err) {
      problems.push((err as Error).message);
      reached = false;
    }
    paused!.pause();
    const pausedAt = paused!.pausedAt!;
    await starting;
    const end = await rig.reader.waitForEnded(workflowId, options.size, endDeadlineMs(options.size));
    // Everything ended without it; make sure its leases are over too, however fast that was.
    const pastLease = pausedAt + leaseMs(env) + sweepMs(env);
    if (Date.now() < pastLease) await new Promise((resolve) => setTimeout(resolve, pastLease - Date.now()));

    const before = await rig.reader.stepRuns(workflowId);
    const callsBefore = rig.receiver.calls.length;
    paused!.resume();
    const resumedAt = paused!.resumedAt!;
    const responsive = await rig.reader.until(() => paused!.responsive(), 10_000);
    // A negative check needs a window: one lease, in which every timer of the resumed process
    // (lease extensions, job polls, answers already in its socket buffers) has fired.
    await new Promise((resolve) => setTimeout(resolve, leaseMs(env)));

    const { figures, events, stepRuns, calls } = await measure(rig, workflowId, { instances: options.size, startedAt });
    const after = new Map(stepRuns.map((r) => [r.id, JSON.stringify(r)]));
    const changed = before.filter((r) => after.get(r.id) !== JSON.stringify(r)).length + Math.max(0, stepRuns.length - before.length);
    const eventsAfterResume = events.filter((e) => e.at >= resumedAt);
    const names = workerNamesOf({ calls, events, sender: paused!.name });
    return verdict('worker SIGSTOP past the lease, then SIGCONT', options.size, {
      settings: env,
      answerDelayMs: ANSWER_DELAY_MS,
      timedOut: end.timedOut,
      problems,
      pausedForMs: resumedAt - pausedAt,
      responsiveAfterResume: responsive,
      callsInFlightAtPause: callsInFlightAt({ calls, events, sender: paused!.name, at: pausedAt }).length,
      callsAfterResume: calls.slice(callsBefore).length,
      callsByPausedAfterResume: calls.filter((c) => c.at >= resumedAt && c.sender === paused!.name).length,
      eventsAfterResume: eventsAfterResume.length,
      eventsAfterResumeSample: eventsAfterResume.slice(0, 5).map((e) => `${e.stepId ?? ''}:${e.event}:${e.toStatus}`),
      stepRunsChangedAfterResume: changed,
      staleCommits: staleCommits({ stepRuns, events, calls, sender: paused!.name, since: pausedAt }).length,
      pausedWorkerNames: [...names],
      ...figures,
    }, {
      reached: exactly(reached, true),
      allCompleted: exactly(figures.completed, options.size),
      callsAfterResume: exactly(calls.slice(callsBefore).length, 0),
      eventsAfterResume: exactly(eventsAfterResume.length, 0),
      stepRunsChangedAfterResume: exactly(changed, 0),
      staleCommits: exactly(staleCommits({ stepRuns, events, calls, sender: paused!.name, since: pausedAt }).length, 0),
      duplicatesNotKeyedLikeFirst: exactly(figures.calls.duplicatesNotKeyedLikeFirst, 0),
      callsWithoutKey: exactly(figures.calls.callsWithoutKey, 0),
      smsStepsWithoutOneMessage: exactly(figures.smsStepsWithoutOneMessage, 0),
    });
  } finally {
    await rig.close();
  }
}
