// monaco-graphql's worker: completion and validation against the schema.
import 'monaco-graphql/esm/graphql.worker.js';
