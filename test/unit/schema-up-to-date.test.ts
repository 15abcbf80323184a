import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { printSdl } from '../../src/server/emit-schema.js';

const checkedIn = fileURLToPath(new URL('../../schema/schema.graphql', import.meta.url));

describe('schema/schema.graphql', () => {
  test('is what the resolvers build', async () => {
    const current = readFileSync(checkedIn, 'utf8');
    const built = await printSdl();
    expect(built, 'schema/schema.graphql is stale: run `npm run schema` and commit the result').toBe(current);
  });
});
