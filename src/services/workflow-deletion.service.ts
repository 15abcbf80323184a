import { AppError, ErrorCode, invalidState } from '../domain/errors.js';
import type { InstanceStatus } from '../domain/run-state-machine.js';
import type { RunQueryStore } from '../ports/run-query.store.port.js';
import type { WorkflowReference, WorkflowStore } from '../ports/workflow.store.port.js';
import type { Actor } from './api-key.service.js';
import type { DraftListener } from './workflow-editing.service.js';

/** What a deletion removed. */
export interface DeletedWorkflowOutcome {
  readonly id: string;
  readonly name: string;
  /** Instances in progress that `force` cancelled before the deletion. */
  readonly cancelledInstances: number;
  /** Instances deleted with the workflow, of every status (the cancelled ones included). */
  readonly deletedInstances: number;
}

export interface WorkflowDeletionOptions {
  readonly store: WorkflowStore;
  /** Where `force` finds the instances in progress. */
  readonly runs: Pick<RunQueryStore, 'listInstances'>;
  /**
   * Stops an instance in progress and removes its pending jobs, as `cancelInstance` does (the
   * engine's WorkflowRunner.cancel): its events are recorded and its subscribers told.
   */
  readonly cancelInstance: (actor: { readonly workspaceId: string }, instanceId: string) => Promise<unknown>;
  readonly onChange?: DraftListener;
}

const IN_PROGRESS: readonly InstanceStatus[] = ['WAITING', 'RUNNING', 'PENDING'];
/** Instances of each status cancelled per pass. */
const PAGE = 100;
/** Cancels at once. */
const LANES = 4;
/** Passes in a row that cancel nothing before the cancelling gives up. */
const STALLED_PASSES = 3;
/** Cancel-then-delete rounds before giving up on a workflow whose instances keep being started. */
const ROUNDS = 5;

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * Deletes workflows. The workflow, its schedule and everything that is only its go in one
 * transaction with the workflow row locked (see DraftSession.deleteWorkflow), so that no tick,
 * start, edit or publish lands after the deletion and nothing is half-deleted. Runs in progress
 * are never deleted under a worker's feet: a deletion is refused while there are any, unless
 * `force` cancels them first through the engine, which removes their jobs.
 */
export class WorkflowDeletionService {
  constructor(private readonly options: WorkflowDeletionOptions) {}

  /**
   * Deletes a workflow of the actor's workspace. Refused with INVALID_STATE while another
   * workflow would still start it as its failure handler (`details.referencedBy`), and while
   * instances are in progress (`details.activeInstances`) unless `force`; NOT_FOUND for an unknown
   * id or one of another workspace.
   */
  async delete(actor: Actor, workflowId: string, options: { readonly force?: boolean } = {}): Promise<DeletedWorkflowOutcome> {
    let cancelled = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { workflow, result } = await this.options.store.withDraft(actor.workspaceId, workflowId, async (session) => {
        const references = await session.failureHandlerReferences();
        if (references.length > 0) throw referenced(session.workflow, references);
        return { workflow: session.workflow, result: await session.deleteWorkflow() };
      });
      if (result.deleted) {
        this.options.onChange?.({
          workspaceId: workflow.workspaceId,
          workflowId: workflow.id,
          draftRevision: workflow.draftRevision,
          kind: 'DELETE',
          label: 'Deleted the workflow',
          actorKeyId: actor.apiKeyId,
        });
        return { id: workflow.id, name: workflow.name, cancelledInstances: cancelled, deletedInstances: result.instances };
      }
      const active = result.activeInstances;
      if (!options.force) {
        throw invalidState(
          `The workflow has ${plural(active, 'instance', 'instances')} in progress (pending, running or waiting); ` +
            'cancel them, or delete with force: true to cancel them and delete',
          { activeInstances: active },
        );
      }
      cancelled += await this.cancelInProgress(actor, workflow.id);
    }
    throw invalidState('New instances of the workflow kept starting while it was being deleted; try again');
  }

  /** Cancels every instance of the workflow in progress; returns how many this call cancelled. */
  private async cancelInProgress(actor: Actor, workflowId: string): Promise<number> {
    const { runs, cancelInstance } = this.options;
    let cancelled = 0;
    let stalled = 0;
    for (;;) {
      const pages = await Promise.all(
        IN_PROGRESS.map((status) => runs.listInstances(actor.workspaceId, { workflowId, status }, { first: PAGE })),
      );
      const ids = pages.flatMap((p) => p.items.map((i) => i.node.id));
      if (ids.length === 0) return cancelled;
      let next = 0;
      let progress = 0;
      const lane = async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          try {
            await cancelInstance(actor, id);
            progress++;
          } catch (err) {
            // Ended or gone meanwhile: no longer in progress, which is all a deletion needs.
            if (!(err instanceof AppError) || (err.code !== ErrorCode.INVALID_STATE && err.code !== ErrorCode.NOT_FOUND)) throw err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(LANES, ids.length) }, lane));
      cancelled += progress;
      // Passes that stop none of what they find (each instance ended, or kept changing, as it was
      // cancelled) may find the same again: a few are let through, not an endless loop.
      stalled = progress === 0 ? stalled + 1 : 0;
      if (stalled >= STALLED_PASSES) throw invalidState('The instances of the workflow in progress could not be cancelled; try again');
    }
  }
}

function referenced(workflow: WorkflowReference, references: readonly WorkflowReference[]): AppError {
  const names = references.map((r) => `'${r.name}' (${r.id})`).join(', ');
  return invalidState(
    `Workflow '${workflow.name}' is the failure handler of ${references.length === 1 ? 'another workflow' : `${references.length} other workflows`}: ${names}. ` +
      'Remove it from them first (updateWorkflow with failureHandlerWorkflowId: null, then publish), or let their runs in progress end',
    { referencedBy: references.map((r) => ({ id: r.id, name: r.name })) },
  );
}
