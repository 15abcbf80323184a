CREATE TABLE "instance_events" (
	"instance_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"cursor" bigserial NOT NULL,
	"workspace_id" uuid NOT NULL,
	"workflow_id" uuid NOT NULL,
	"entity" text NOT NULL,
	"step_id" text,
	"step_run_id" uuid,
	"event" text NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"attempt" integer,
	"detail" jsonb,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	CONSTRAINT "instance_events_instance_id_seq_pk" PRIMARY KEY("instance_id","seq")
);
--> statement-breakpoint
CREATE TABLE "outbound_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"instance_id" uuid NOT NULL,
	"step_id" text NOT NULL,
	"channel" text NOT NULL,
	"kind" text NOT NULL,
	"recipient" text,
	"text" text,
	"target_message_id" text,
	"provider" text NOT NULL,
	"provider_message_id" text,
	"status" text NOT NULL,
	"error" text,
	"idempotency_key" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "outbound_messages_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "step_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"instance_id" uuid NOT NULL,
	"step_id" text NOT NULL,
	"step_type" text NOT NULL,
	"status" text NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"input" jsonb,
	"output" jsonb,
	"error" jsonb,
	"due_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enqueued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone,
	"resumed" boolean DEFAULT false NOT NULL,
	"lost_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "workflow_instances" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"workflow_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"status" text NOT NULL,
	"input" jsonb NOT NULL,
	"idempotency_key" text,
	"event_seq" integer DEFAULT 0 NOT NULL,
	"current_step_id" text,
	"error" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "instance_events" ADD CONSTRAINT "instance_events_instance_id_workflow_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."workflow_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "step_runs" ADD CONSTRAINT "step_runs_instance_id_workflow_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."workflow_instances"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_instances" ADD CONSTRAINT "workflow_instances_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_instances" ADD CONSTRAINT "workflow_instances_workflow_id_workflows_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "instance_events_workflow_xid_idx" ON "instance_events" USING btree ("workflow_id","xid");--> statement-breakpoint
CREATE INDEX "outbound_messages_instance_idx" ON "outbound_messages" USING btree ("instance_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "step_runs_instance_step_idx" ON "step_runs" USING btree ("instance_id","step_id");--> statement-breakpoint
CREATE INDEX "step_runs_due_idx" ON "step_runs" USING btree ("due_at") WHERE "step_runs"."status" in ('SCHEDULED', 'RETRYING');--> statement-breakpoint
CREATE INDEX "step_runs_lease_idx" ON "step_runs" USING btree ("lease_until") WHERE "step_runs"."status" = 'RUNNING';--> statement-breakpoint
CREATE UNIQUE INDEX "workflow_instances_idempotency_idx" ON "workflow_instances" USING btree ("workflow_id","idempotency_key") WHERE "workflow_instances"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "workflow_instances_workflow_status_idx" ON "workflow_instances" USING btree ("workflow_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "workflow_instances_workflow_created_idx" ON "workflow_instances" USING btree ("workflow_id","created_at","id");