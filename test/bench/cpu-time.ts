/**
 * CPU time of one thread, and of the local Postgres server, from Linux's /proc: where the realtime
 * benchmark's two cores went (the server's event loop, the clients' threads, Postgres). Elsewhere
 * these read `undefined` and the benchmark reports no split.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds from a /proc `stat` line (fields 14 and 15; the name may hold spaces). */
function cpuSecondsOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function readStat(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPU seconds the calling thread (main or worker) has used so far. */
export function threadCpuSeconds(): number | undefined {
  const stat = readStat('/proc/thread-self/stat');
  return stat === undefined ? undefined : cpuSecondsOf(stat);
}

/** CPU seconds used so far by each running process named `postgres`, by pid. */
export function postgresCpuSeconds(): Map<number, number> | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const byPid = new Map<number, number>();
  for (const pid of pids) {
    const stat = readStat(`/proc/${pid}/stat`);
    if (stat?.includes('(postgres)')) byPid.set(Number(pid), cpuSecondsOf(stat));
  }
  return byPid.size > 0 ? byPid : undefined;
}

/**
 * Postgres CPU seconds between two readings: what the processes alive at the second used since
 * the first (a process that started in between counts whole; one that ended is missed).
 */
export function postgresCpuBetween(before: Map<number, number> | undefined, after: Map<number, number> | undefined): number | undefined {
  if (!after) return undefined;
  let seconds = 0;
  for (const [pid, total] of after) seconds += total - (before?.get(pid) ?? 0);
  return seconds;
}
