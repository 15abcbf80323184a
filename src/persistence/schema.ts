// Re-exports every table for drizzle-kit and the query builder.
export * from './tables/workspace.table.js';
export * from './tables/api-key.table.js';
export * from './tables/workflow.table.js';
export * from './tables/workflow-step.table.js';
export * from './tables/workflow-edge.table.js';
export * from './tables/workflow-history.table.js';
export * from './tables/workflow-version.table.js';
export * from './tables/workflow-instance.table.js';
export * from './tables/step-run.table.js';
export * from './tables/instance-event.table.js';
export * from './tables/outbound-message.table.js';
export * from './tables/webhook-endpoint.table.js';
export * from './tables/inbound-message.table.js';
export * from './tables/workflow-trigger.table.js';
export * from './tables/inbound-delivery.table.js';
export * from './tables/step-wait.table.js';
export * from './tables/pending-event.table.js';
