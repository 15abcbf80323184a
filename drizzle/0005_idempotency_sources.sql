DROP INDEX "workflow_instances_idempotency_idx";--> statement-breakpoint
ALTER TABLE "workflow_instances" ADD COLUMN "idempotency_source" text;--> statement-breakpoint
-- Keys stored before sources were apart carry their source as a prefix (webhook:<key>,
-- inbound:<provider>:<id>) or none (startWorkflow). Each becomes its source and the bare key, so
-- a redelivery or a repeated call still finds its instance. A GraphQL key that was spelled like
-- another source's is classed with that source, as it behaved until now.
UPDATE "workflow_instances" SET
  "idempotency_source" = CASE
    WHEN "idempotency_key" LIKE 'webhook:%' THEN 'webhook'
    WHEN "idempotency_key" LIKE 'inbound:meta:%' THEN 'meta'
    WHEN "idempotency_key" LIKE 'inbound:twilio:%' THEN 'twilio'
    ELSE 'graphql' END,
  "idempotency_key" = CASE
    WHEN "idempotency_key" LIKE 'webhook:%' THEN substr("idempotency_key", length('webhook:') + 1)
    WHEN "idempotency_key" LIKE 'inbound:meta:%' THEN substr("idempotency_key", length('inbound:meta:') + 1)
    WHEN "idempotency_key" LIKE 'inbound:twilio:%' THEN substr("idempotency_key", length('inbound:twilio:') + 1)
    ELSE "idempotency_key" END
WHERE "idempotency_key" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "workflow_instances_idempotency_idx" ON "workflow_instances" USING btree ("workflow_id","idempotency_source","idempotency_key") WHERE "workflow_instances"."idempotency_key" is not null;--> statement-breakpoint
ALTER TABLE "workflow_instances" ADD CONSTRAINT "workflow_instances_idempotency_source_check" CHECK (("workflow_instances"."idempotency_key" is null) = ("workflow_instances"."idempotency_source" is null));