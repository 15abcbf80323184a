import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { it } from 'vitest';
import { startEmbeddedPostgres } from '../../../src/persistence/embedded-postgres.js';
import { AgendaStepScheduler } from '../../../src/scheduler/agenda-step-scheduler.js';
import { testLogger, uniqueStoreName } from './scheduler-test-support.js';

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!; };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(label: string, url: string, notifications: 'backend' | 'in-memory', concurrency = 10) {
  const tableName = uniqueStoreName('agenda_measure');
  const logger = testLogger();
  const s = new AgendaStepScheduler({ backend: 'postgres', postgresUrl: url, notifications, logger, tableName, concurrency });
  const started = new Map<string, number>();
  const done = new Set<string>();
  const waiters = new Map<string, () => void>();
  const waitStart = (id: string) => new Promise<void>((r) => { if (started.has(id)) r(); else waiters.set(id, r); });
  await s.startWorker(async (id) => { started.set(id, performance.now()); done.add(id); waiters.get(id)?.(); });
  // warm-up
  for (let i = 0; i < 10; i++) { const id = `w${i}`; await s.enqueue(id); await waitStart(id); }
  // 1) sequential latency
  const lat: number[] = []; const enqDur: number[] = [];
  for (let i = 0; i < 200; i++) {
    const id = `l${i}`; const t0 = performance.now(); await s.enqueue(id); enqDur.push(performance.now() - t0);
    await waitStart(id);
    lat.push(started.get(id)! - t0);
  }
  // 2) burst throughput: 1000 no-op jobs enqueued with 20 concurrent producers
  const N = 1000; const ids = Array.from({ length: N }, (_, i) => `t${i}`);
  const t0 = performance.now(); let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => { while (next < N) { const id = ids[next++]!; await s.enqueue(id); } }));
  const tEnq = performance.now() - t0;
  while (!ids.every((id) => done.has(id))) await sleep(5);
  const tAll = performance.now() - t0;
  await s.stop();
  // 3) drain rate: jobs already queued, a fresh worker starts
  const s2 = new AgendaStepScheduler({ backend: 'postgres', postgresUrl: url, notifications, logger, tableName, concurrency });
  const ids2 = Array.from({ length: N }, (_, i) => `d${i}`); next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => { while (next < N) { const id = ids2[next++]!; await s2.enqueue(id); } }));
  const done2 = new Set<string>();
  const t2 = performance.now();
  await s2.startWorker(async (id) => { done2.add(id); });
  while (!ids2.every((id) => done2.has(id))) await sleep(5);
  const tDrain = performance.now() - t2;
  await s2.stop();
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  const left = await sql.unsafe(`select count(*)::int n from "${tableName}"`);
  await sql.unsafe(`DROP TABLE IF EXISTS "${tableName}" CASCADE; DROP TABLE IF EXISTS "${tableName}_logs"; DROP FUNCTION IF EXISTS update_${tableName}_updated_at()`);
  await sql.end();
  console.log(`${label} c=${concurrency}: latency p50=${pct(lat, 50).toFixed(1)}ms p90=${pct(lat, 90).toFixed(1)} p99=${pct(lat, 99).toFixed(1)} max=${Math.max(...lat).toFixed(1)}; enqueue p50=${pct(enqDur, 50).toFixed(2)}ms p99=${pct(enqDur, 99).toFixed(2)}; burst ${N}: enqueued in ${tEnq.toFixed(0)}ms (${(N / tEnq * 1000).toFixed(0)}/s), all run after ${tAll.toFixed(0)}ms (${(N / tAll * 1000).toFixed(0)} jobs/s); drain of ${N} pre-queued: ${(N / tDrain * 1000).toFixed(0)} jobs/s; rows left ${left[0]?.n}`);
}

it('measure real postgres', async () => {
  await measure('real PG, LISTEN/NOTIFY', 'postgres://postgres@127.0.0.1:5432/test', 'backend');
  await measure('real PG, in-memory', 'postgres://postgres@127.0.0.1:5432/test', 'in-memory');
}, 300_000);

it('measure embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wfb-measure-'));
  const db = await startEmbeddedPostgres(dir);
  try { await measure('embedded, in-memory', db.url, 'in-memory'); } finally { await db.stop(); rmSync(dir, { recursive: true, force: true }); }
}, 300_000);
