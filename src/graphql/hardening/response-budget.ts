import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import { jsonByteLengthWithin } from '../../domain/json-size.js';
import { limitExceeded, type AppError } from '../../domain/errors.js';

/** The refusal of an answer larger than `maxBytes` (GRAPHQL_MAX_RESPONSE_BYTES). */
export const responseTooLarge = (maxBytes: number): AppError =>
  limitExceeded(
    `The answer would be larger than the ${maxBytes} bytes allowed: ask for fewer items (a smaller first) or fewer fields`,
    { limit: 'maxResponseBytes', max: maxBytes },
  );

/**
 * The bytes one execution's answer may take (GRAPHQL_MAX_RESPONSE_BYTES). Large values (step
 * configs, version graphs, trigger inputs) are weighed with their stored sizes and reserved here
 * before they are read, so an answer that cannot fit is refused before its data is loaded; once
 * the budget is spent, nothing more is read and the whole answer is replaced by one
 * LIMIT_EXCEEDED error (see `fitsResponse`). One per operation, and one per event of a subscription.
 */
export class ResponseBudget {
  private reserved = 0;
  private spent = false;

  constructor(readonly maxBytes: number) {}

  /** True once a reservation did not fit: the answer will be the LIMIT_EXCEEDED error. */
  get exceeded(): boolean {
    return this.spent;
  }

  /** Takes `bytes` for values about to be read; LIMIT_EXCEEDED, and nothing taken, when they do not fit. */
  reserve(bytes: number): void {
    if (this.spent || this.reserved + bytes > this.maxBytes) {
      this.spent = true;
      throw responseTooLarge(this.maxBytes);
    }
    this.reserved += bytes;
  }
}

/**
 * Whether an answer fits in `maxBytes` once serialized, measured without serializing it (the work
 * stops at `maxBytes`), and nothing about it ran over the budget.
 */
export function fitsResponse(result: Pick<ExecutionResult, 'data' | 'errors'> | { data?: unknown; errors?: readonly GraphQLFormattedError[] }, budget: ResponseBudget): boolean {
  if (budget.exceeded) return false;
  return jsonByteLengthWithin({ data: result.data, errors: result.errors }, budget.maxBytes) !== undefined;
}
