import { startResponsivenessProbe, type ProbeReport } from './responsiveness-probe.js';

/**
 * Runs `attack` while a responsiveness probe from another client measures the server at `url`;
 * the probe is stopped whatever the attack does, and its report returned with the attack's result.
 */
export async function underProbe<T>(
  target: { url: string; apiKey?: string },
  attack: () => Promise<T>,
): Promise<{ result: T; report: ProbeReport }> {
  const probe = startResponsivenessProbe(target);
  await probe.ready;
  const outcome = await attack().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const report = await probe.stop();
  if (!outcome.ok) throw outcome.error;
  return { result: outcome.value, report };
}

/**
 * `signal`, or a clear failure once `ms` have passed without it: a bound on waiting for a signal
 * that, on broken code, never comes (not a sleep before an assertion).
 */
export async function within<T>(signal: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([signal, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
