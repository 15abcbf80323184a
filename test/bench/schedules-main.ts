/**
 * `BENCH=schedules` (part of `npm run bench`): `BENCH_SCHEDULES` (1,000) workflows triggered by
 * `trigger.schedule` with cron `* * * * *` (every minute, all on the same second), run by one API
 * process and two worker processes on a database of their own on `DATABASE_URL`'s server, for
 * `BENCH_SCHEDULE_MINUTES` (5) whole minutes. Judged from the database only: for every tick in the
 * window, how many instances it started (fired / expected must be exactly 1.0, none twice) and how
 * late (an instance's `created_at`, the commit of its start, minus its tick's time).
 * Prints one JSON object on stdout; progress on stderr.
 */
import { performance } from 'node:perf_hooks';
import { Deployment, type StepSpec } from '../support/deployment.js';
import { mapBounded, sleep, summarize } from './bench-support.js';

const log = (message: string) => process.stderr.write(`bench schedules: ${message}\n`);
const SCHEDULES = Number(process.env.BENCH_SCHEDULES ?? 1_000);
const MINUTES = Number(process.env.BENCH_SCHEDULE_MINUTES ?? 5);
const WORKERS = 2;
/** How long after the window's last tick its instances may still be committed and counted. */
const GRACE_MS = 30_000;
const MINUTE = 60_000;

const steps: StepSpec[] = [
  { id: 'tick', type: 'trigger.schedule', config: { cron: '* * * * *', timeZone: 'UTC' } },
  { id: 'sms', type: 'sms.send', config: { to: '+15550100', text: 'tick {{trigger.tickAt}}' } },
];

/** Creates and publishes every scheduled workflow, 8 at a time; their ids in order. */
const publishAll = (deployment: Deployment): Promise<string[]> =>
  mapBounded(SCHEDULES, 8, (i) => deployment.publishChain(`every minute ${i}`, steps));

async function main(): Promise<Record<string, unknown>> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return { skipped: 'needs a Postgres server (DATABASE_URL): two worker processes cannot share the embedded database', meets: false };
  const deployment = await Deployment.create({ serverUrl, workers: WORKERS });
  try {
    const publishStarted = performance.now();
    const workflowIds = await publishAll(deployment);
    const publish_s = (performance.now() - publishStarted) / 1000;
    log(`${workflowIds.length} schedules published in ${publish_s.toFixed(1)} s`);
    // The window starts at the first whole minute at least 5 s away, so no schedule is still being published into it.
    const windowStart = Math.ceil((Date.now() + 5_000) / MINUTE) * MINUTE;
    const windowEnd = windowStart + MINUTES * MINUTE;
    log(`measuring ticks from ${new Date(windowStart).toISOString()} to ${new Date(windowEnd).toISOString()}`);
    await sleep(windowEnd - Date.now() + GRACE_MS);
    const rows = await deployment.sql<{ workflow: string; tick: string; n: number; late_ms: number[]; fire_ms: number[] }[]>`
      select workflow_id as workflow, input->>'tickAt' as tick, count(*)::int as n,
             array_agg(extract(epoch from created_at) * 1000 - extract(epoch from (input->>'tickAt')::timestamptz) * 1000) as late_ms,
             array_agg(extract(epoch from (input->>'firedAt')::timestamptz) * 1000 - extract(epoch from (input->>'tickAt')::timestamptz) * 1000) as fire_ms
      from workflow_instances
      where idempotency_source = 'schedule'
        and (input->>'tickAt')::timestamptz >= ${new Date(windowStart)} and (input->>'tickAt')::timestamptz < ${new Date(windowEnd)}
      group by 1, 2`;
    const expected = SCHEDULES * MINUTES;
    const fired = rows.length;
    const twice = rows.filter((r) => r.n > 1).length;
    const lateness = summarize(rows.flatMap((r) => r.late_ms.map(Number)));
    const perWorkflow = new Map<string, number>();
    for (const r of rows) perWorkflow.set(r.workflow, (perWorkflow.get(r.workflow) ?? 0) + 1);
    const ratio = Math.round((fired / expected) * 10_000) / 10_000;
    return {
      what: `${SCHEDULES} schedules, cron every minute, ${WORKERS} worker processes and an API process, ${MINUTES} whole minutes`,
      schedules: SCHEDULES,
      workers: WORKERS,
      minutes: MINUTES,
      publish_s: Math.round(publish_s * 10) / 10,
      expectedTicks: expected,
      firedTicks: fired,
      ticksFiredTwice: twice,
      schedulesWithoutEveryTick: [...workflowIds].filter((id) => (perWorkflow.get(id) ?? 0) !== MINUTES).length,
      firedOverExpected: ratio,
      lateness,
      // The part of it before the start: the worker's clock when it began the tick's start, minus the tick.
      firingLateness: summarize(rows.flatMap((r) => r.fire_ms.map(Number))),
      target: { firedOverExpected: 1, ticksFiredTwice: 0, latenessP99_ms: 1_000 },
      meets: ratio === 1 && twice === 0 && lateness.p99_ms <= 1_000,
    };
  } finally {
    await deployment.stop();
  }
}

main().then(
  (result) => {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
