export * from './action-definition.js';
export * from './action-error.js';
export * from './action-registry.js';
export * from './builtin-actions.js';
export * from './config-fields.js';
export { matchesIncomingMessage, type IncomingMessageConfig } from './trigger-incoming-message.action.js';
