ALTER TABLE "step_runs" ADD COLUMN "handback_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "step_runs" ADD COLUMN "fence" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "step_runs" ADD COLUMN "lease_owner" text;