import { ValidationCode, type ValidationProblem } from './graph-validation.js';

/** What publishing knows of the workflow a draft names as its failure handler. */
export interface FailureHandlerCandidate {
  /** The workflow being published. */
  readonly workflowId: string;
  /** The handler it names; null or absent: none, nothing to check. */
  readonly handlerId: string | null | undefined;
  /**
   * The handler as the publishing workspace sees it: undefined when no workflow of that workspace
   * has this id (another workspace's is not seen either).
   */
  readonly handler: { readonly status: 'DRAFT' | 'ACTIVE' | 'ARCHIVED'; readonly latestVersion: number | null } | undefined;
}

/**
 * The publish check of a failure handler: it must be another workflow of the same workspace,
 * active (published and not archived), since it is started by id when an instance fails.
 */
export const validateFailureHandler = (candidate: FailureHandlerCandidate): ValidationProblem[] => {
  const { workflowId, handlerId, handler } = candidate;
  if (handlerId === null || handlerId === undefined) return [];
  const problem = (message: string): ValidationProblem[] => [{ code: ValidationCode.INVALID_FAILURE_HANDLER, message }];
  if (handlerId === workflowId) return problem('A workflow cannot be its own failure handler');
  if (!handler) return problem(`The failure handler '${handlerId}' is not a workflow of this workspace`);
  if (handler.status === 'ARCHIVED') return problem(`The failure handler '${handlerId}' is archived`);
  if (handler.status !== 'ACTIVE' || handler.latestVersion === null) {
    return problem(`The failure handler '${handlerId}' has no published version; publish it first`);
  }
  return [];
};
