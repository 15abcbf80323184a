CREATE TABLE "inbound_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"signed_digest" text NOT NULL,
	"content_digest" text NOT NULL,
	"messages" text,
	"message_count" integer NOT NULL,
	"ignored" integer NOT NULL,
	"received_at" timestamp (3) with time zone NOT NULL,
	"lease_until" timestamp (3) with time zone,
	"claims" integer DEFAULT 0 NOT NULL,
	"processed_at" timestamp (3) with time zone,
	"started_count" integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_deliveries_signed_idx" ON "inbound_deliveries" USING btree ("provider","signed_digest");--> statement-breakpoint
CREATE INDEX "inbound_deliveries_pending_idx" ON "inbound_deliveries" USING btree ("received_at","id") WHERE "inbound_deliveries"."processed_at" is null;