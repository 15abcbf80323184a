import { Field, ID, Int, ObjectType } from 'type-graphql';
import { InstanceEvent } from '../instance/instance.type.js';

@ObjectType({ description: 'One state change of an instance or one of its step runs.' })
export class InstanceUpdate {
  @Field(() => ID)
  instanceId!: string;

  @Field(() => Int, { description: 'The event seq; subscribe again with `since` set to it to resume after it.' })
  seq!: number;

  @Field(() => InstanceEvent)
  event!: InstanceEvent;
}

@ObjectType({ description: 'One event of one instance of a workflow, with the cursor to resume after it.' })
export class WorkflowInstanceEvent {
  @Field(() => InstanceEvent)
  event!: InstanceEvent;

  @Field(() => String, { description: 'Pass as `since` to resume the stream right after this event.' })
  cursor!: string;
}

@ObjectType({ description: "Events of a workflow's instances delivered together, in order." })
export class WorkflowInstanceEventBatch {
  @Field(() => [WorkflowInstanceEvent], { description: 'In the order of the workflow stream; never empty.' })
  events!: WorkflowInstanceEvent[];

  @Field(() => String, { description: 'The last event\'s cursor: pass as `since` to resume right after this batch.' })
  cursor!: string;
}

@ObjectType({ description: "A change of a workflow's draft by anyone editing it." })
export class WorkflowEdit {
  @Field(() => ID)
  workflowId!: string;

  @Field(() => Int)
  draftRevision!: number;

  @Field(() => String, { description: 'EDIT, UNDO, REDO, PUBLISH, ARCHIVE or DELETE (the last: the workflow is gone, and the subscription completes).' })
  change!: string;

  @Field(() => String, { description: "The history entry's label, e.g. \"Added step 'Send SMS'\" or \"Undid: ...\"." })
  label!: string;

  @Field(() => ID, { description: 'The API key that made the change.' })
  actorKeyId!: string;

  @Field(() => Date)
  at!: Date;
}
