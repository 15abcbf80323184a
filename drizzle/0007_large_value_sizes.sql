-- Sizes of the large JSON values as JSON text, kept by Postgres, so that an answer can be weighed
-- before they are read (graphql/common/large-values.loader.ts). Adding them rewrites the three
-- tables once; later updates recompute a size only when its own column changes.
ALTER TABLE "workflow_instances" ADD COLUMN "input_bytes" integer GENERATED ALWAYS AS (octet_length(input::text)) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "workflow_steps" ADD COLUMN "config_bytes" integer GENERATED ALWAYS AS (octet_length(config::text)) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "workflow_versions" ADD COLUMN "graph_bytes" integer GENERATED ALWAYS AS (octet_length(graph::text)) STORED NOT NULL;