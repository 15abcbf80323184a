import type postgres from 'postgres';

/** One row of `instance_events`, times in ms since the epoch. */
export interface EventRow {
  readonly instanceId: string;
  readonly seq: number;
  readonly cursor: number;
  readonly entity: 'INSTANCE' | 'STEP';
  readonly stepId: string | null;
  readonly stepRunId: string | null;
  readonly event: string;
  readonly fromStatus: string | null;
  readonly toStatus: string;
  readonly attempt: number | null;
  readonly detail: Record<string, unknown> | null;
  readonly at: number;
}

/** One row of `step_runs`. */
export interface StepRunRow {
  readonly id: string;
  readonly instanceId: string;
  readonly stepId: string;
  readonly status: string;
  readonly attempt: number;
  readonly output: unknown;
  readonly lostCount: number;
}

/** Where instances of a workflow stand, and whether they all ended before the deadline. */
export interface EndState {
  readonly counts: Readonly<Record<string, number>>;
  readonly ended: number;
  readonly timedOut: boolean;
}

const ENDED = ['COMPLETED', 'FAILED', 'CANCELLED'];

/**
 * Read-only queries of a deployment's run tables (`workflow_instances`, `step_runs`,
 * `instance_events`, `outbound_messages`): how a black-box test checks outcomes.
 */
export class RunReader {
  constructor(private readonly sql: postgres.Sql) {}

  async statusCounts(workflowId: string): Promise<Record<string, number>> {
    const rows = await this.sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from workflow_instances where workflow_id = ${workflowId} group by status`;
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /** Polls until `count` instances of the workflow have ended or `timeoutMs` passed; never throws on the deadline. */
  async waitForEnded(workflowId: string, count: number, timeoutMs: number): Promise<EndState> {
    const deadline = Date.now() + timeoutMs;
    let counts: Record<string, number> = {};
    for (;;) {
      // A failed read (Postgres restarting) is tried again until the deadline.
      counts = await this.statusCounts(workflowId).catch(() => counts);
      const ended = ENDED.reduce((n, s) => n + (counts[s] ?? 0), 0);
      if (ended >= count) return { counts, ended, timedOut: false };
      if (Date.now() > deadline) return { counts, ended, timedOut: true };
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Polls `query` until it returns true or the deadline passes; returns whether it did. */
  async until(query: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await query().catch(() => false)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  async events(workflowId: string): Promise<EventRow[]> {
    const rows = await this.sql<(Omit<EventRow, 'at' | 'cursor'> & { at: Date; cursor: string })[]>`
      select instance_id as "instanceId", seq, cursor, entity, step_id as "stepId", step_run_id as "stepRunId", event,
             from_status as "fromStatus", to_status as "toStatus", attempt, detail, at
      from instance_events where workflow_id = ${workflowId} order by instance_id, seq`;
    return rows.map((r) => ({ ...r, cursor: Number(r.cursor), at: r.at.getTime() }));
  }

  async stepRuns(workflowId: string): Promise<StepRunRow[]> {
    return this.sql<StepRunRow[]>`
      select r.id, r.instance_id as "instanceId", r.step_id as "stepId", r.status, r.attempt, r.output, r.lost_count as "lostCount"
      from step_runs r join workflow_instances i on i.id = r.instance_id
      where i.workflow_id = ${workflowId} order by r.instance_id, r.step_id`;
  }

  /** Sandbox (and provider) messages recorded per instance and step. */
  async messagesPerStep(workflowId: string): Promise<Map<string, number>> {
    const rows = await this.sql<{ instanceId: string; stepId: string; n: number }[]>`
      select m.instance_id as "instanceId", m.step_id as "stepId", count(*)::int as n
      from outbound_messages m join workflow_instances i on i.id = m.instance_id
      where i.workflow_id = ${workflowId} group by m.instance_id, m.step_id`;
    return new Map(rows.map((r) => [`${r.instanceId}:${r.stepId}`, r.n]));
  }

  /** Rows of RUNNING step runs of the workflow. */
  async running(workflowId: string): Promise<StepRunRow[]> {
    return (await this.stepRuns(workflowId)).filter((r) => r.status === 'RUNNING');
  }
}

/** A "worker lost" event: a hand-back (`lose`) or the failure after too many. */
export const isWorkerLost = (e: EventRow): boolean =>
  e.entity === 'STEP' &&
  (e.event === 'lose' || (e.event === 'fail' && String(e.detail?.reason ?? '').startsWith('the worker running this step stopped responding')));

/** The `p`-th percentile (0..100) of `values` by nearest rank; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
