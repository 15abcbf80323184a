import { Router } from 'express';

export interface HealthzRouterOptions {
  /** Resolves when the database answers; a rejection makes the process unhealthy. */
  readonly ping: () => Promise<unknown>;
}

/** `GET /healthz`: 200 `{ status: 'ok' }` while the database answers, 503 `{ status: 'unavailable' }` otherwise; on every role. */
export function createHealthzRouter({ ping }: HealthzRouterOptions): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    try {
      await ping();
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });
  return router;
}
