import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { JsonObject } from '../../domain/json.js';
import { connectionOf } from '../common/connection.type.js';

export enum WorkflowStatus {
  DRAFT = 'DRAFT',
  ACTIVE = 'ACTIVE',
  ARCHIVED = 'ARCHIVED',
}
registerEnumType(WorkflowStatus, {
  name: 'WorkflowStatus',
  description: 'DRAFT until first published; ACTIVE once published; ARCHIVED is read-only.',
});

@ObjectType()
export class Position {
  @Field(() => Float)
  x!: number;

  @Field(() => Float)
  y!: number;
}

@ObjectType({ description: 'One step of a draft or a published version.' })
export class Step {
  @Field(() => ID, { description: 'Unique within its workflow.' })
  id!: string;

  @Field(() => String, { description: 'An action type from `actionTypes`.' })
  type!: string;

  @Field(() => String)
  name!: string;

  /** Set when the config is at hand (a version's graph, a single step); otherwise read when asked for (StepResolver.config). */
  config?: JsonObject;

  /** The draft's workflow, for reading the config when it is not at hand, and the config's stored size. */
  workflowId?: string;

  configBytes?: number;

  @Field(() => Position)
  position!: Position;
}

@ObjectType({ description: "An edge from a step's output port to another step." })
export class Edge {
  @Field(() => ID)
  from!: string;

  @Field(() => String)
  port!: string;

  @Field(() => ID)
  to!: string;
}

@ObjectType({ description: 'One undoable change of the draft.' })
export class HistoryEntry {
  @Field(() => Int)
  seq!: number;

  @Field(() => String, { description: "What the change did, e.g. \"Added step 'Send SMS'\"." })
  label!: string;

  @Field(() => Boolean, { description: 'True when the change is undone and can be redone.' })
  undone!: boolean;

  @Field(() => ID, { nullable: true, description: 'The API key that made the change.' })
  actorKeyId!: string | null;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType({ description: 'A problem that stops a draft from being published.' })
export class ValidationProblem {
  @Field(() => String)
  code!: string;

  @Field(() => String)
  message!: string;

  @Field(() => ID, { nullable: true })
  stepId?: string;

  @Field(() => String, { nullable: true })
  port?: string;
}

@ObjectType({ description: 'An immutable published snapshot of a workflow graph.' })
export class WorkflowVersion {
  @Field(() => ID)
  workflowId!: string;

  @Field(() => Int)
  version!: number;

  @Field(() => Int, { description: 'The draft revision that was published.' })
  draftRevision!: number;

  @Field(() => ID, { nullable: true, description: "The failure handler this version's instances start when they fail." })
  failureHandlerWorkflowId!: string | null;

  @Field(() => Boolean, { description: "Whether a reply that ends a wait of this version's instances also starts workflows (the workflow setting it was published with)." })
  repliesAlsoStartWorkflows!: boolean;

  @Field(() => Date)
  createdAt!: Date;

  /** Set when the graph is at hand (just published); otherwise read when asked for (WorkflowVersionResolver). */
  steps?: Step[];

  edges?: Edge[];

  /** Size of the graph as stored, to weigh it before it is read. */
  graphBytes?: number;
}

@ObjectType({
  description:
    "The schedule of a workflow whose newest published version starts with a schedule trigger: each tick starts one instance of that version.",
})
export class WorkflowSchedule {
  @Field(() => Int, { description: 'The published version the ticks start.' })
  version!: number;

  @Field(() => ID, { description: 'The schedule trigger step of that version.' })
  triggerStepId!: string;

  @Field(() => Date, { description: 'The next tick; at or before now while it is being fired.' })
  nextTickAt!: Date;

  @Field(() => Date, { nullable: true, description: 'The newest tick fired (for a runOnce run after downtime, the newest missed tick it stood for); null before the first.' })
  lastTickAt!: Date | null;
}

@ObjectType({ description: 'A workflow: its draft graph with undo/redo history, and its published versions.' })
export class Workflow {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  description!: string;

  @Field(() => WorkflowStatus)
  status!: WorkflowStatus;

  @Field(() => Int, { description: 'Grows by one with every edit, undo and redo; pass as `expectedRevision`.' })
  draftRevision!: number;

  @Field(() => Int)
  stepCount!: number;

  @Field(() => Int, { nullable: true, description: 'The newest published version, null before the first publish.' })
  latestVersion!: number | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "The workflow started whenever an instance fails, as the draft names it (each version keeps the one it was published with); set with updateWorkflow.",
  })
  failureHandlerWorkflowId!: string | null;

  @Field(() => Boolean, {
    description:
      "Whether an inbound message that ends a wait.forMessage of an instance also starts the workflows its channel triggers (default false), as the draft says (each version keeps the setting it was published with); set with updateWorkflow.",
  })
  repliesAlsoStartWorkflows!: boolean;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;

  /** Not a field: the head of the history, used by the canUndo/canRedo resolvers. */
  historyHead!: number;
}

export const StepConnection = connectionOf(Step, 'Step');
export const EdgeConnection = connectionOf(Edge, 'Edge');
export const HistoryConnection = connectionOf(HistoryEntry, 'HistoryEntry');
export const WorkflowConnection = connectionOf(Workflow, 'Workflow');

@ObjectType({ description: 'A published version without its graph, as listed.' })
export class WorkflowVersionSummary {
  @Field(() => Int)
  version!: number;

  @Field(() => Int)
  draftRevision!: number;

  @Field(() => Date)
  createdAt!: Date;
}
export const WorkflowVersionConnection = connectionOf(WorkflowVersionSummary, 'WorkflowVersionSummary');

@ObjectType({ description: 'The result of an edit, undo or redo.' })
export class EditResult {
  @Field(() => Workflow)
  workflow!: Workflow;

  @Field(() => String, {
    nullable: true,
    description: 'Label of the history entry made, undone or redone; null when the edit changed nothing.',
  })
  label!: string | null;

  @Field(() => [ID], { description: 'Ids of the steps this edit added, in order.' })
  createdStepIds!: string[];

  @Field(() => Boolean)
  canUndo!: boolean;

  @Field(() => Boolean)
  canRedo!: boolean;
}

@ObjectType()
export class PublishResult {
  @Field(() => Workflow)
  workflow!: Workflow;

  @Field(() => WorkflowVersion)
  version!: WorkflowVersion;
}

@ObjectType({ description: 'A workflow deleteWorkflow removed, and what went with it.' })
export class DeletedWorkflow {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Int, { description: 'Instances in progress (pending, running, waiting) that `force: true` cancelled first.' })
  cancelledInstances!: number;

  @Field(() => Int, { description: 'Instances deleted with the workflow, of every status, the cancelled ones included.' })
  deletedInstances!: number;
}
