import { atMost, delayFigures, exactly, verdict, workerLostEvents, type ScenarioResult } from './figures.js';
import { CHAOS_ENV, measure, openRig, WAIT, NOTIFY } from './workload.js';

/**
 * `size` durable timers (delay steps until a time each instance is given), due over a spread of
 * seconds, with a worker `kill -9` (and a fresh worker) once 40% of them have fired. Targets:
 * none fires early, none twice, lateness p99 ≤ 2 s, every instance completes with one message.
 */
export async function durableTimers(options: { size: number }): Promise<ScenarioResult> {
  const env = { ...CHAOS_ENV };
  const rig = await openRig({ env, workers: 2 });
  try {
    const workflowId = await rig.deployment.publishChain('chaos: durable timers across a kill', [
      { id: 'start', type: 'trigger.manual' },
      { id: WAIT, type: 'delay', config: { until: '{{trigger.dueAt}}' } },
      { id: NOTIFY, type: 'sms.send', config: { to: '+15550100', text: 'due {{trigger.dueAt}}' } },
    ]);
    const startedAt = Date.now();
    // Far enough ahead that every instance is waiting before its timer is due, however slow starting them is.
    const leadMs = 5_000 + options.size * 20;
    const spreadMs = Math.max(5_000, options.size * 10);
    const inputs = Array.from({ length: options.size }, (_, i) => ({ dueAt: new Date(startedAt + leadMs + Math.round((spreadMs * i) / options.size)).toISOString() }));
    await rig.deployment.startInstances(workflowId, inputs);
    const startingTookMs = Date.now() - startedAt;

    const fired = async () => {
      const [row] = await rig.deployment.sql<{ n: number }[]>`
        select count(*)::int as n from instance_events where workflow_id = ${workflowId} and step_id = ${WAIT} and event = 'succeed'`;
      return row!.n;
    };
    const problems: string[] = [];
    let killAt: number | null = null;
    if (await rig.reader.until(async () => (await fired()) >= options.size * 0.4, leadMs + spreadMs + 60_000, 50)) {
      killAt = Date.now();
      await rig.deployment.workers[0]!.kill9();
      await rig.deployment.addWorker();
    } else {
      problems.push('40% of the timers never fired');
    }
    const end = await rig.reader.waitForEnded(workflowId, options.size, leadMs + spreadMs + 90_000);
    const { figures, events } = await measure(rig, workflowId, { instances: options.size, startedAt, delayStepId: WAIT });
    const timers = delayFigures(events, WAIT);
    return verdict('durable timers across a kill -9', options.size, {
      settings: env,
      timedOut: end.timedOut,
      problems,
      startingTookMs,
      leadMs,
      spreadMs,
      killedAfterMs: killAt === null ? null : killAt - startedAt,
      completed: figures.completed,
      statusCounts: figures.statusCounts,
      timers,
      notWaited: options.size - timers.delays,
      workerLostEvents: workerLostEvents(events),
      smsStepsWithoutOneMessage: figures.smsStepsWithoutOneMessage,
    }, {
      killed: exactly(killAt !== null, true),
      allCompleted: exactly(figures.completed, options.size),
      early: exactly(timers.early, 0),
      double: exactly(timers.double, 0),
      latenessP99Ms: atMost(timers.latenessP99Ms, 2_000),
      allWaited: exactly(timers.delays, options.size),
      smsStepsWithoutOneMessage: exactly(figures.smsStepsWithoutOneMessage, 0),
    });
  } finally {
    await rig.close();
  }
}
