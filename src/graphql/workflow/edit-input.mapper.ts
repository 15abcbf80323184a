import type { EditCommand } from '../../domain/edit-command.js';
import { badInput, type ErrorDetails } from '../../domain/errors.js';
import type {
  AddStepInput,
  ConnectStepsInput,
  DisconnectStepsInput,
  EditInput,
  MoveStepInput,
  RemoveStepInput,
  UpdateStepInput,
  UpdateWorkflowInput,
} from './workflow.input.js';

const strip = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;

export const addStepCommand = (i: AddStepInput): EditCommand =>
  strip({
    kind: 'addStep' as const,
    id: i.id ?? undefined,
    type: i.type,
    name: i.name,
    config: i.config ?? {},
    position: i.position ? { x: i.position.x, y: i.position.y } : undefined,
    after: i.after ? { stepId: i.after.stepId, port: i.after.port } : undefined,
  });

export const updateStepCommand = (i: UpdateStepInput): EditCommand =>
  strip({ kind: 'updateStep' as const, stepId: i.stepId, name: i.name ?? undefined, config: i.config ?? undefined });

export const moveStepCommand = (i: MoveStepInput): EditCommand => ({
  kind: 'moveStep',
  stepId: i.stepId,
  position: { x: i.position.x, y: i.position.y },
});

export const removeStepCommand = (i: RemoveStepInput): EditCommand => ({
  kind: 'removeStep',
  stepId: i.stepId,
  reconnect: i.reconnect,
});

export const connectCommand = (i: ConnectStepsInput): EditCommand => ({
  kind: 'connectSteps',
  from: i.from,
  port: i.port,
  to: i.to,
});

export const disconnectCommand = (i: DisconnectStepsInput): EditCommand => ({
  kind: 'disconnectSteps',
  from: i.from,
  port: i.port,
});

/** `refusal`: what a refusal adds to its details (the edit's index in a batch). */
export const updateWorkflowCommand = (i: UpdateWorkflowInput, refusal: ErrorDetails = {}): EditCommand => {
  // A setting with a default has no "none": null would leave a reader guessing whether it resets or leaves it.
  if (i.repliesAlsoStartWorkflows === null) {
    throw badInput('repliesAlsoStartWorkflows is true or false; leave it out to keep it as it is', 'repliesAlsoStartWorkflows', refusal);
  }
  return {
    ...strip({ kind: 'updateWorkflow' as const, name: i.name ?? undefined, description: i.description ?? undefined }),
    // null is kept: it removes the handler.
    ...(i.failureHandlerWorkflowId === undefined ? {} : { failureHandlerWorkflowId: i.failureHandlerWorkflowId }),
    ...(i.repliesAlsoStartWorkflows === undefined ? {} : { repliesAlsoStartWorkflows: i.repliesAlsoStartWorkflows }),
  };
};

/** One `applyEdits` entry: exactly one of its fields must be set. */
export function editCommand(input: EditInput, index: number): EditCommand {
  const set = Object.entries(input).filter(([, v]) => v !== undefined && v !== null);
  if (set.length !== 1) {
    throw badInput(`Edit ${index} must set exactly one field, it sets ${set.length}`, `edits.${index}`, {
      commandIndex: index,
    });
  }
  const [kind, value] = set[0]!;
  switch (kind) {
    case 'addStep':
      return addStepCommand(value as AddStepInput);
    case 'updateStep':
      return updateStepCommand(value as UpdateStepInput);
    case 'moveStep':
      return moveStepCommand(value as MoveStepInput);
    case 'removeStep':
      return removeStepCommand(value as RemoveStepInput);
    case 'connectSteps':
      return connectCommand(value as ConnectStepsInput);
    case 'disconnectSteps':
      return disconnectCommand(value as DisconnectStepsInput);
    case 'updateWorkflow':
      return updateWorkflowCommand(value as UpdateWorkflowInput, { commandIndex: index });
    default:
      throw badInput(`Unknown edit '${kind}'`, `edits.${index}`);
  }
}
