ALTER TABLE "step_runs" ADD COLUMN "attempts_before_retry" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- A step run's attempts keep their numbers across retryInstance (StepRun.attempts lists them from
-- the event log); `attempts_before_retry` is where the retry policy counts from after one. The
-- commit function as in 0009, with that column in a step's patch (`attemptsBeforeRetry`).
CREATE OR REPLACE FUNCTION wfb_commit_run_change(c jsonb) RETURNS SETOF instance_events
LANGUAGE plpgsql AS $$
DECLARE
  n integer := jsonb_array_length(c->'events');
  at_ts timestamptz := (c->>'now')::timestamptz;
  ip jsonb := coalesce(c->'instancePatch', '{}'::jsonb);
  base integer;
  ws uuid;
  wf uuid;
  s jsonb;
  p jsonb;
  cl jsonb;
BEGIN
  -- The instance row first in every commit: it serialises commits of one instance and hands
  -- out gapless event sequence numbers.
  UPDATE workflow_instances w SET
    event_seq = w.event_seq + n,
    updated_at = at_ts,
    status = coalesce(c->>'to', w.status),
    current_step_id = CASE WHEN ip ? 'currentStepId' THEN ip->>'currentStepId' ELSE w.current_step_id END,
    error = CASE WHEN ip ? 'error' THEN nullif(ip->'error', 'null'::jsonb) ELSE w.error END,
    started_at = CASE WHEN ip ? 'startedAt' THEN (ip->>'startedAt')::timestamptz ELSE w.started_at END,
    finished_at = CASE WHEN ip ? 'finishedAt' THEN (ip->>'finishedAt')::timestamptz ELSE w.finished_at END
  WHERE w.id = (c->>'instanceId')::uuid
    AND (c->>'from' IS NULL OR w.status = c->>'from')
    AND (c->>'expect' IS NULL OR w.status = c->>'expect')
  RETURNING w.event_seq - n, w.workspace_id, w.workflow_id INTO base, ws, wf;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'instance % is not in the expected state', c->>'instanceId' USING ERRCODE = 'WF409';
  END IF;

  FOR s IN SELECT value FROM jsonb_array_elements(coalesce(c->'steps', '[]'::jsonb)) LOOP
    p := coalesce(s->'patch', '{}'::jsonb);
    cl := s->'claim';
    UPDATE step_runs r SET
      status = s->>'to',
      fence = CASE WHEN cl IS NOT NULL THEN r.fence + 1 ELSE r.fence END,
      lease_owner = CASE WHEN cl IS NOT NULL THEN cl->>'owner' ELSE r.lease_owner END,
      lease_until = CASE
        WHEN cl IS NOT NULL THEN clock_timestamp() + (cl->>'leaseMs')::integer * interval '1 millisecond'
        WHEN p ? 'leaseUntil' THEN (p->>'leaseUntil')::timestamptz
        ELSE r.lease_until END,
      attempt = CASE WHEN p ? 'attempt' THEN (p->>'attempt')::integer ELSE r.attempt END,
      attempts_before_retry = CASE WHEN p ? 'attemptsBeforeRetry' THEN (p->>'attemptsBeforeRetry')::integer ELSE r.attempts_before_retry END,
      input = CASE WHEN p ? 'input' THEN nullif(p->'input', 'null'::jsonb) ELSE r.input END,
      output = CASE WHEN p ? 'output' THEN nullif(p->'output', 'null'::jsonb) ELSE r.output END,
      error = CASE WHEN p ? 'error' THEN nullif(p->'error', 'null'::jsonb) ELSE r.error END,
      due_at = CASE WHEN p ? 'dueAt' THEN (p->>'dueAt')::timestamptz ELSE r.due_at END,
      enqueued_at = CASE WHEN p ? 'enqueuedAt' THEN (p->>'enqueuedAt')::timestamptz ELSE r.enqueued_at END,
      resumed = CASE WHEN p ? 'resumed' THEN (p->>'resumed')::boolean ELSE r.resumed END,
      lost_count = CASE WHEN p ? 'lostCount' THEN (p->>'lostCount')::integer ELSE r.lost_count END,
      handback_count = CASE WHEN p ? 'handbackCount' THEN (p->>'handbackCount')::integer ELSE r.handback_count END,
      started_at = CASE WHEN p ? 'startedAt' THEN (p->>'startedAt')::timestamptz ELSE r.started_at END,
      finished_at = CASE WHEN p ? 'finishedAt' THEN (p->>'finishedAt')::timestamptz ELSE r.finished_at END
    WHERE r.id = (s->>'id')::uuid AND r.status = s->>'from'
      AND (NOT s ? 'fence' OR r.fence = (s->>'fence')::integer)
      AND (NOT s ? 'leaseExpired' OR r.lease_until < clock_timestamp());
    IF NOT FOUND THEN
      RAISE EXCEPTION 'step run % is not in the expected state', s->>'id' USING ERRCODE = 'WF409';
    END IF;
  END LOOP;

  INSERT INTO step_runs (id, instance_id, step_id, step_type, status, due_at, enqueued_at, finished_at,
                         attempt, fence, lease_owner, lease_until, started_at, input)
  SELECT (x->>'id')::uuid, (c->>'instanceId')::uuid, x->>'stepId', x->>'stepType', x->>'status',
         (x->>'dueAt')::timestamptz, at_ts, CASE WHEN x->>'status' = 'SKIPPED' THEN at_ts END,
         CASE WHEN x ? 'claim' THEN 1 ELSE 0 END,
         CASE WHEN x ? 'claim' THEN 1 ELSE 0 END,
         x->'claim'->>'owner',
         CASE WHEN x ? 'claim' THEN clock_timestamp() + (x->'claim'->>'leaseMs')::integer * interval '1 millisecond' END,
         CASE WHEN x ? 'claim' THEN at_ts END,
         nullif(x->'input', 'null'::jsonb)
  FROM jsonb_array_elements(coalesce(c->'newRuns', '[]'::jsonb)) AS x;

  RETURN QUERY
  INSERT INTO instance_events AS ev
    (instance_id, seq, workspace_id, workflow_id, entity, step_id, step_run_id, event, from_status, to_status, attempt, detail, at)
  SELECT (c->>'instanceId')::uuid, base + e.ord::integer, ws, wf, e.v->>'entity', e.v->>'stepId',
         (e.v->>'stepRunId')::uuid, e.v->>'event', e.v->>'from', e.v->>'to', (e.v->>'attempt')::integer,
         nullif(e.v->'detail', 'null'::jsonb), clock_timestamp()
  FROM jsonb_array_elements(c->'events') WITH ORDINALITY AS e(v, ord)
  RETURNING ev.*;
END;
$$;
