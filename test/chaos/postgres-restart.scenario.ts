import type { PostgresCluster } from '../support/postgres-cluster.js';
import { atMost, exactly, verdict, type ScenarioResult } from './figures.js';
import { CALLS_PER_INSTANCE, CHAOS_ENV, endDeadlineMs, measure, openRig, workloadSteps } from './workload.js';

const ANSWER_DELAY_MS = 200;

/**
 * `pg_ctlcluster restart -m immediate` of the deployment's own Postgres cluster in the middle of
 * the workload. Targets: the processes ride it out, a transition commits within 5 s of Postgres
 * accepting connections again, every instance completes, every re-sent call carries its first key.
 */
export async function postgresRestart(options: { size: number; cluster: PostgresCluster }): Promise<ScenarioResult> {
  const env = { ...CHAOS_ENV };
  const rig = await openRig({ env, workers: 2, serverUrl: options.cluster.url });
  try {
    rig.receiver.respond = () => ({ delayMs: ANSWER_DELAY_MS });
    const workflowId = await rig.deployment.publishChain('chaos: Postgres restart', workloadSteps(rig.receiver.url));
    const startedAt = Date.now();
    // Every instance is started before the restart: the restart tests the engine, not the API's answer to a client.
    await rig.deployment.startInstances(workflowId, Array.from({ length: options.size }, () => ({})));
    const problems: string[] = [];
    let restart: { downAt: number; backAt: number } | undefined;
    try {
      await rig.receiver.waitFor((calls) => calls.length >= options.size * CALLS_PER_INSTANCE * 0.3 && rig.receiver.open().length > 0, {
        timeoutMs: endDeadlineMs(options.size),
        what: 'calls in flight past 30% of the calls',
      });
      restart = await options.cluster.restartImmediate();
    } catch (err) {
      problems.push((err as Error).message);
    }
    let progressMs: number | null = null;
    if (restart) {
      const backAt = restart.backAt;
      await rig.reader.until(async () => {
        const [row] = await rig.deployment.sql<{ at: Date | null }[]>`
          select min(at) as at from instance_events where workflow_id = ${workflowId} and at >= ${new Date(backAt)}`.catch(() => [{ at: null }]);
        if (row?.at) progressMs = row.at.getTime() - backAt;
        return progressMs !== null;
      }, 30_000);
    }
    const end = await rig.reader.waitForEnded(workflowId, options.size, endDeadlineMs(options.size));
    const { figures } = await measure(rig, workflowId, { instances: options.size, startedAt });
    const exited = rig.deployment.everyProcess.filter((p) => !p.running).map((p) => p.name);
    return verdict('Postgres restart -m immediate', options.size, {
      settings: env,
      answerDelayMs: ANSWER_DELAY_MS,
      timedOut: end.timedOut,
      problems,
      restartTookMs: restart ? restart.backAt - restart.downAt : null,
      progressAfterBackMs: progressMs,
      processesExited: exited,
      ...figures,
    }, {
      restarted: exactly(restart !== undefined, true),
      progressAfterBackMs: atMost(progressMs, 5_000),
      processesExited: exactly(exited.length, 0),
      allCompleted: exactly(figures.completed, options.size),
      duplicatesNotKeyedLikeFirst: exactly(figures.calls.duplicatesNotKeyedLikeFirst, 0),
      callsWithoutKey: exactly(figures.calls.callsWithoutKey, 0),
      smsStepsWithoutOneMessage: exactly(figures.smsStepsWithoutOneMessage, 0),
      eventLogGaps: exactly(figures.eventLogGaps, 0),
    });
  } finally {
    await rig.close();
  }
}
