CREATE TABLE "pending_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"key" text NOT NULL,
	"payload" jsonb,
	"sent_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "step_waits" (
	"step_run_id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"topic" text NOT NULL,
	"key" text NOT NULL,
	"match" jsonb,
	"fence" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "step_runs" ADD COLUMN "wait_reason" text;--> statement-breakpoint
ALTER TABLE "step_runs" ADD COLUMN "arrival" jsonb;--> statement-breakpoint
ALTER TABLE "workflow_instances" ADD COLUMN "wait_reason" text;--> statement-breakpoint
ALTER TABLE "pending_events" ADD CONSTRAINT "pending_events_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "step_waits" ADD CONSTRAINT "step_waits_step_run_id_step_runs_id_fk" FOREIGN KEY ("step_run_id") REFERENCES "public"."step_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "step_waits" ADD CONSTRAINT "step_waits_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pending_events_match_idx" ON "pending_events" USING btree ("workspace_id","name","key","sent_at");--> statement-breakpoint
CREATE INDEX "pending_events_workspace_expiry_idx" ON "pending_events" USING btree ("workspace_id","expires_at");--> statement-breakpoint
CREATE INDEX "pending_events_expiry_idx" ON "pending_events" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "step_waits_match_idx" ON "step_waits" USING btree ("workspace_id","reason","topic","key");--> statement-breakpoint
CREATE INDEX "step_waits_message_idx" ON "step_waits" USING btree ("topic","key") WHERE "step_waits"."reason" = 'message';--> statement-breakpoint
-- Waits that something may end before their due time (wait.forEvent, wait.forMessage). The commit
-- function as in 0012, and:
-- - the instance's wait_reason: set by the patch (`waitReason`) of a `wait`, and cleared by every
--   commit that leaves the instance in another state than WAITING;
-- - a step transition may raise the fence without taking the lease (`raiseFence`: a `wake`), and
--   its patch may set `waitReason` and `arrival`;
-- - `wait: {stepRunId, fence, workspaceId, target: {reason, name, key, match}}` registers what a
--   step that begins to wait in this commit may be woken by (table step_waits: an event's name and
--   key, or a message's channel and sender with its match);
-- - a registration lapses when its step leaves SCHEDULED: every transition from SCHEDULED (a
--   start, a resume, a cancel, a wake) deletes it.
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
    wait_reason = CASE
      WHEN ip ? 'waitReason' THEN ip->>'waitReason'
      WHEN coalesce(c->>'to', w.status) <> 'WAITING' THEN NULL
      ELSE w.wait_reason END,
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
      fence = CASE WHEN cl IS NOT NULL OR s ? 'raiseFence' THEN r.fence + 1 ELSE r.fence END,
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
      wait_reason = CASE WHEN p ? 'waitReason' THEN p->>'waitReason' ELSE r.wait_reason END,
      arrival = CASE WHEN p ? 'arrival' THEN nullif(p->'arrival', 'null'::jsonb) ELSE r.arrival END,
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
    IF s->>'from' = 'SCHEDULED' THEN
      DELETE FROM step_waits WHERE step_run_id = (s->>'id')::uuid;
    END IF;
  END LOOP;

  IF c ? 'wait' THEN
    INSERT INTO step_waits (step_run_id, workspace_id, reason, topic, key, match, fence, created_at)
    VALUES ((c->'wait'->>'stepRunId')::uuid, (c->'wait'->>'workspaceId')::uuid, c->'wait'->'target'->>'reason',
            c->'wait'->'target'->>'name', c->'wait'->'target'->>'key', nullif(c->'wait'->'target'->'match', 'null'::jsonb),
            (c->'wait'->>'fence')::integer, at_ts)
    ON CONFLICT (step_run_id) DO UPDATE SET
      workspace_id = excluded.workspace_id, reason = excluded.reason, topic = excluded.topic,
      key = excluded.key, match = excluded.match, fence = excluded.fence, created_at = excluded.created_at;
  END IF;

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
