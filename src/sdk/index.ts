// The typed SDK for integrators: the client and the generated typed documents.
export * from './client.js';
export * from './operations.generated.js';
