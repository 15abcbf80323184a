ALTER TABLE "workflow_versions" ADD COLUMN "failure_handler_workflow_id" uuid;--> statement-breakpoint
ALTER TABLE "workflows" ADD COLUMN "failure_handler_workflow_id" uuid;