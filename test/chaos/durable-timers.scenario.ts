import { atMost, delayFigures, exactly, verdict, workerLostEvents, type ScenarioResult } from './figures.js';
import { CHAOS_ENV, measure, openRig, WAIT, NOTIFY } from './workload.js';

const LEAD_MS = 8_000;
const SPREAD_STEPS = 20;
const SPREAD_STEP_MS = 250;

/**
 * `size` durable timers (delay steps until a time each instance is given, 8-13 s after its start
 * request), with a worker `kill -9` (and a fresh worker) once 40% of them have fired. Targets:
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
    // Each timer is due a while after its own start request, so every instance is waiting before
    // its timer is due however long starting them all takes; the offsets spread them out.
    await rig.deployment.startEach(workflowId, {
      count: options.size,
      input: (i) => ({ dueAt: new Date(Date.now() + LEAD_MS + (i % SPREAD_STEPS) * SPREAD_STEP_MS).toISOString() }),
    });
    const startingTookMs = Date.now() - startedAt;

    const fired = async () => {
      const [row] = await rig.deployment.sql<{ n: number }[]>`
        select count(*)::int as n from instance_events where workflow_id = ${workflowId} and step_id = ${WAIT} and event = 'succeed'`;
      return row!.n;
    };
    const problems: string[] = [];
    let killAt: number | null = null;
    if (await rig.reader.until(async () => (await fired()) >= options.size * 0.4, startingTookMs + LEAD_MS + SPREAD_STEPS * SPREAD_STEP_MS + 60_000, 50)) {
      killAt = Date.now();
      await rig.deployment.workers[0]!.kill9();
      await rig.deployment.addWorker();
    } else {
      problems.push('40% of the timers never fired');
    }
    const end = await rig.reader.waitForEnded(workflowId, options.size, startingTookMs + LEAD_MS + SPREAD_STEPS * SPREAD_STEP_MS + 90_000);
    const { figures, events } = await measure(rig, workflowId, { instances: options.size, startedAt, delayStepId: WAIT });
    const timers = delayFigures(events, WAIT);
    return verdict('durable timers across a kill -9', options.size, {
      settings: env,
      timedOut: end.timedOut,
      problems,
      startingTookMs,
      dueAfterStartMs: [LEAD_MS, LEAD_MS + (SPREAD_STEPS - 1) * SPREAD_STEP_MS],
      killedAfterMs: killAt === null ? null : killAt - startedAt,
      completed: figures.completed,
      statusCounts: figures.statusCounts,
      timers,
      // Reached their delay only after its due time (the engine was behind before the timer): they
      // go on at once and say nothing about timers, so they are counted apart, not judged.
      notWaited: options.size - timers.delays,
      workerLostEvents: workerLostEvents(events),
      smsStepsWithoutOneMessage: figures.smsStepsWithoutOneMessage,
    }, {
      killed: exactly(killAt !== null, true),
      allCompleted: exactly(figures.completed, options.size),
      early: exactly(timers.early, 0),
      double: exactly(timers.double, 0),
      latenessP99Ms: atMost(timers.latenessP99Ms, 2_000),
      smsStepsWithoutOneMessage: exactly(figures.smsStepsWithoutOneMessage, 0),
    });
  } finally {
    await rig.close();
  }
}
