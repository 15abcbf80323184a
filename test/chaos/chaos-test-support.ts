import { afterAll, beforeAll, describe, expect } from 'vitest';
import { buildServer } from '../support/server-process.js';
import type { ScenarioResult } from './figures.js';
import { chaosServerUrl, closeAllRigs } from './workload.js';

/**
 * A describe block for a chaos scenario: real Postgres only (several processes cannot share the
 * embedded database, whose directory is locked to one process), the server built once, and
 * every deployment still open closed afterwards, even when a test timed out.
 */
export function describeChaos(title: string, body: () => void): void {
  describe.skipIf(!chaosServerUrl())(`${title} (real Postgres only: worker processes cannot share the embedded database)`, () => {
    beforeAll(() => buildServer());
    afterAll(() => closeAllRigs());
    body();
  });
}

/** Asserts every target of a scenario; on failure the message is the whole figures object. */
export function expectTargets(result: ScenarioResult): void {
  expect(result.unmet, JSON.stringify(result, null, 2)).toEqual([]);
}
