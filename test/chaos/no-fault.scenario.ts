import { atMost, exactly, verdict, type ScenarioResult } from './figures.js';
import { CHAOS_ENV, endDeadlineMs, measure, openRig, workloadSteps } from './workload.js';

/**
 * No fault at all: `size` instances of the workload on one API and `workers` worker processes.
 * Targets: every instance completes, no call sent twice, every call keyed, no "worker lost"
 * event, delays resume within a second (p99).
 */
export async function noFault(options: { size: number; workers: number }): Promise<ScenarioResult> {
  const env = { ...CHAOS_ENV };
  const rig = await openRig({ env, workers: options.workers });
  try {
    const workflowId = await rig.deployment.publishChain('chaos: no fault', workloadSteps(rig.receiver.url));
    const startedAt = Date.now();
    await rig.deployment.startInstances(workflowId, Array.from({ length: options.size }, () => ({})));
    const end = await rig.reader.waitForEnded(workflowId, options.size, endDeadlineMs(options.size));
    const { figures } = await measure(rig, workflowId, { instances: options.size, startedAt });
    return verdict(`no fault, ${options.workers} workers`, options.size, { workers: options.workers, settings: env, timedOut: end.timedOut, ...figures }, {
      allCompleted: exactly(figures.completed, options.size),
      duplicateCalls: exactly(figures.calls.duplicateCalls, 0),
      callsWithoutKey: exactly(figures.calls.callsWithoutKey, 0),
      callsWithWrongKey: exactly(figures.calls.callsWithWrongKey, 0),
      workerLostEvents: exactly(figures.workerLostEvents, 0),
      delayLatenessP99Ms: atMost(figures.delay.latenessP99Ms, 1_000),
      earlyDelays: exactly(figures.delay.early, 0),
      doubleDelays: exactly(figures.delay.double, 0),
      smsStepsWithoutOneMessage: exactly(figures.smsStepsWithoutOneMessage, 0),
      eventLogGaps: exactly(figures.eventLogGaps, 0),
    });
  } finally {
    await rig.close();
  }
}
