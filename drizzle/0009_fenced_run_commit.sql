-- Fencing (see StepRunTransition in src/ports/run-records.ts): a start raises the step run's
-- fence by one and takes its lease for `leaseMs` of this database's clock; every later write of
-- that attempt names the fence, so a worker whose lease was taken over (it paused, or lost the
-- network) can write nothing more. The sweep's hand-back of a lost worker applies only if the
-- lease has really run out by this same clock. A step run may also be created already running
-- (the committing worker runs the next step itself, without a job). Otherwise as in 0004.
--
-- c = {
--   instanceId, now,
--   from?, to?                 -- instance transition (compare-and-set on status)
--   expect?                    -- without a transition: the instance must be in this state
--   instancePatch?: {currentStepId?, error?, startedAt?, finishedAt?},
--   steps?: [{id, from, to, fence?, claim?: {owner, leaseMs}, leaseExpired?, patch?: {attempt?,
--             input?, output?, error?, dueAt?, enqueuedAt?, leaseUntil?, resumed?, lostCount?,
--             handbackCount?, startedAt?, finishedAt?}}],
--   newRuns?: [{id, stepId, stepType, status, dueAt, claim?, input?}],
--   events: [{entity, stepId?, stepRunId?, event, from?, to, attempt?, detail?}]  -- in log order
-- }
-- A key present with null sets the column to NULL; an absent key leaves it unchanged.
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
--> statement-breakpoint
-- Several changes in one statement and one transaction (group commit): each in a subtransaction
-- of its own, so a change whose compare-and-set misses, or that cannot be stored, is left out
-- and the others commit. `cs` is a JSON array of the changes' JSON texts, each parsed in its own
-- subtransaction (a text jsonb cannot hold, say a NUL escape, fails that change alone). One row
-- per event written, with what only the database knows of it (seq, cursor, time, transaction;
-- i = the change's index in cs); for a change that missed or was refused, one row with its
-- SQLSTATE (WF409 for a miss) and message. The caller sorts the changes by instance, so that two
-- batches lock instance rows in one order.
DROP FUNCTION IF EXISTS wfb_commit_run_changes(jsonb);
CREATE FUNCTION wfb_commit_run_changes(cs jsonb)
RETURNS TABLE (i integer, ev_seq integer, ev_cursor bigint, ev_at timestamptz, ev_xid text, ws uuid, wf uuid, err_code text, err_message text)
LANGUAGE plpgsql AS $$
DECLARE
  t text;
  k integer := 0;
BEGIN
  FOR t IN SELECT value FROM jsonb_array_elements_text(cs) LOOP
    BEGIN
      RETURN QUERY SELECT k, e.seq, e.cursor, e.at, e.xid::text, e.workspace_id, e.workflow_id, NULL::text, NULL::text
        FROM wfb_commit_run_change(t::jsonb) AS e;
    EXCEPTION
      WHEN OTHERS THEN
        RETURN QUERY SELECT k, NULL::integer, NULL::bigint, NULL::timestamptz, NULL::text, NULL::uuid, NULL::uuid, SQLSTATE::text, SQLERRM::text;
    END;
    k := k + 1;
  END LOOP;
END;
$$;
