CREATE TABLE "workflow_schedules" (
	"workflow_id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"trigger_step_id" text NOT NULL,
	"trigger_type" text NOT NULL,
	"config" jsonb NOT NULL,
	"next_tick_at" timestamp with time zone NOT NULL,
	"last_tick_at" timestamp with time zone,
	"claimed_until" timestamp with time zone,
	"claimed_by" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "workflow_schedules" ADD CONSTRAINT "workflow_schedules_workflow_id_workflows_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "workflow_schedules_next_tick_idx" ON "workflow_schedules" USING btree ("next_tick_at");