import { describe, expect, it } from 'vitest';
import { validateFailureHandler, type FailureHandlerCandidate } from '../../../src/domain/failure-handler-validation.js';

const own = 'a0000000-0000-4000-8000-000000000001';
const other = 'b0000000-0000-4000-8000-000000000002';
const active = { status: 'ACTIVE' as const, latestVersion: 1 };

describe('validateFailureHandler', () => {
  const cases: [string, FailureHandlerCandidate, string | undefined][] = [
    ['no handler', { workflowId: own, handlerId: null, handler: undefined }, undefined],
    ['an absent setting', { workflowId: own, handlerId: undefined, handler: undefined }, undefined],
    ['a published workflow of the workspace', { workflowId: own, handlerId: other, handler: active }, undefined],
    ['the workflow itself', { workflowId: own, handlerId: own, handler: active }, 'its own failure handler'],
    ['a workflow the workspace does not have', { workflowId: own, handlerId: other, handler: undefined }, 'not a workflow of this workspace'],
    ['a draft never published', { workflowId: own, handlerId: other, handler: { status: 'DRAFT', latestVersion: null } }, 'no published version'],
    ['an archived workflow', { workflowId: own, handlerId: other, handler: { status: 'ARCHIVED', latestVersion: 2 } }, 'archived'],
  ];
  it.each(cases)('%s', (_name, candidate, problem) => {
    const problems = validateFailureHandler(candidate);
    if (problem === undefined) {
      expect(problems).toEqual([]);
    } else {
      expect(problems).toEqual([{ code: 'INVALID_FAILURE_HANDLER', message: expect.stringContaining(problem) }]);
    }
  });
});
