import { PostgresCluster } from '../support/postgres-cluster.js';
import { durableTimers } from './durable-timers.scenario.js';
import type { ScenarioResult } from './figures.js';
import { noFault } from './no-fault.scenario.js';
import { postgresRestart } from './postgres-restart.scenario.js';
import { workerDrain } from './worker-drain.scenario.js';
import { workerKill } from './worker-kill.scenario.js';
import { workerPause } from './worker-pause.scenario.js';
import { chaosServerUrl, closeAllRigs } from './workload.js';

/**
 * `npm run chaos`: every fault scenario at the issue's full size, one after another (they would
 * disturb each other's timings), printed as one JSON object. `CHAOS=kill,pause` runs some of them;
 * `CHAOS_SIZE=40` shrinks every size for a quick look. Exits 1 when a target is missed.
 */
type Scenario = { readonly name: string; readonly size: number; run(size: number): Promise<ScenarioResult | { scenario: string; skipped: string }> };

const scenarios: Scenario[] = [
  { name: 'no-fault-2', size: 300, run: (size) => noFault({ size, workers: 2 }) },
  { name: 'no-fault-3', size: 300, run: (size) => noFault({ size, workers: 3 }) },
  { name: 'kill', size: 300, run: (size) => workerKill({ size }) },
  { name: 'pause', size: 300, run: (size) => workerPause({ size }) },
  { name: 'postgres-restart', size: 300, run: (size) => withOwnCluster('Postgres restart', (cluster) => postgresRestart({ size, cluster })) },
  { name: 'drain', size: 300, run: (size) => workerDrain({ size }) },
  { name: 'timers', size: 1_000, run: (size) => durableTimers({ size }) },
];

let cluster: PostgresCluster | undefined;

async function withOwnCluster(scenario: string, run: (cluster: PostgresCluster) => Promise<ScenarioResult>) {
  const made = await PostgresCluster.create();
  if ('unavailable' in made) return { scenario, skipped: made.unavailable };
  cluster = made;
  try {
    return await run(made);
  } finally {
    cluster = undefined;
    await made.drop();
  }
}

async function main(): Promise<number> {
  if (!chaosServerUrl()) {
    console.error('npm run chaos needs a real Postgres: set DATABASE_URL (a database on a server where it may create databases)');
    return 2;
  }
  const only = process.env.CHAOS?.split(',').map((s) => s.trim()).filter(Boolean);
  const size = process.env.CHAOS_SIZE ? Number(process.env.CHAOS_SIZE) : undefined;
  const results: (ScenarioResult | { scenario: string; skipped: string })[] = [];
  for (const s of scenarios.filter((s) => !only || only.includes(s.name))) {
    const started = Date.now();
    process.stderr.write(`chaos: ${s.name} (${size ?? s.size})...\n`);
    const result = await s.run(size ?? s.size);
    process.stderr.write(`chaos: ${s.name} ${'meets' in result ? (result.meets ? 'meets its targets' : `misses ${result.unmet.join(', ')}`) : `skipped: ${result.skipped}`} in ${Math.round((Date.now() - started) / 1000)} s\n`);
    results.push(result);
  }
  const meets = results.every((r) => !('meets' in r) || r.meets);
  console.log(JSON.stringify({ chaos: results, meets }, null, 2));
  return meets ? 0 : 1;
}

const interrupted = async (signal: string) => {
  process.stderr.write(`chaos: ${signal}, cleaning up\n`);
  await closeAllRigs();
  await cluster?.drop();
  process.exit(130);
};
process.once('SIGINT', () => void interrupted('SIGINT'));
process.once('SIGTERM', () => void interrupted('SIGTERM'));

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(err);
    await closeAllRigs();
    await cluster?.drop();
    process.exit(1);
  },
);
