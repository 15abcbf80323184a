import { describe, expect, it } from 'vitest';
import { eventFieldProblem, MAX_EVENT_KEY_CHARS, MAX_EVENT_NAME_CHARS } from '../../../src/domain/wait.js';

describe('event names and correlation keys', () => {
  it.each([
    ['name', 'order.paid'],
    ['name', 'x'.repeat(MAX_EVENT_NAME_CHARS)],
    ['key', 'order-42'],
    ['key', 'k'.repeat(MAX_EVENT_KEY_CHARS)],
    ['key', 'client émilie 👋 #7'],
  ] as const)('%s %j is accepted', (field, value) => {
    expect(eventFieldProblem(field, value)).toBeUndefined();
  });

  it.each([
    ['name', '', /must not be empty/],
    ['name', 'x'.repeat(MAX_EVENT_NAME_CHARS + 1), /at most 100 characters/],
    ['key', 'k'.repeat(MAX_EVENT_KEY_CHARS + 1), /at most 256 characters/],
    ['name', 'order\npaid', /control characters/],
    ['key', 'tab\there', /control characters/],
    ['key', 'del\u007f', /control characters/],
    ['key', 'c1\u0085', /control characters/],
    ['key', 'nul\u0000', /control characters/],
    ['key', ' order-42', /spaces/],
    ['name', 'paid ', /spaces/],
  ] as const)('%s %j is refused', (field, value, message) => {
    expect(eventFieldProblem(field, value)).toMatch(message);
  });
});
