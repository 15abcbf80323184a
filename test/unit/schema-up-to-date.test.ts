import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, test, vi } from 'vitest';
import { printSdl } from '../../src/server/emit-schema.js';

// Vite resolves `graphql` in inlined source to its ESM build (index.mjs), while type-graphql, loaded
// by Node as an external dependency, requires the CommonJS build. Schema objects from one fail the
// other's `instanceof` checks ("Cannot use GraphQLObjectType from another module or realm"). Node
// itself resolves both to CommonJS, so hand the source the same instance it gets in production.
vi.mock('graphql', () => createRequire(import.meta.url)('graphql'));

const checkedIn = fileURLToPath(new URL('../../schema/schema.graphql', import.meta.url));

describe('schema/schema.graphql', () => {
  test('is what the resolvers build', async () => {
    const current = readFileSync(checkedIn, 'utf8');
    const built = await printSdl();
    expect(built, 'schema/schema.graphql is stale: run `npm run schema` and commit the result').toBe(current);
  });
});
