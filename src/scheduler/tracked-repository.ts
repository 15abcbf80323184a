import type { JobRepository } from 'agenda';

/** A job repository that knows how many of its calls are still running. */
export interface TrackedRepository {
  readonly repository: JobRepository;
  /** Resolves once no call is in flight. */
  settled(): Promise<void>;
}

/**
 * Wraps `repository` so that stop() can wait for Agenda's own bookkeeping after a job (unlocking,
 * saving its final state) before closing the pool under it.
 */
export function trackRepositoryCalls(repository: JobRepository): TrackedRepository {
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  const finished = () => {
    inFlight -= 1;
    if (inFlight === 0) {
      const ready = waiters;
      waiters = [];
      for (const resolve of ready) resolve();
    }
  };
  const tracked = new Proxy(repository, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const result: unknown = value.apply(target, args);
        if (result instanceof Promise) {
          inFlight += 1;
          result.then(finished, finished);
        }
        return result;
      };
    },
  });
  return {
    repository: tracked,
    settled: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}
