import { Field, Float, ID, InputType } from 'type-graphql';
import type { JsonObject } from '../../domain/json.js';
import { JSONObjectScalar } from '../common/scalars.js';

@InputType()
export class PositionInput {
  @Field(() => Float)
  x!: number;

  @Field(() => Float)
  y!: number;
}

@InputType()
export class CreateWorkflowInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string;
}

@InputType()
export class UpdateWorkflowInput {
  @Field(() => String, { nullable: true })
  name?: string;

  @Field(() => String, { nullable: true })
  description?: string;

  @Field(() => ID, {
    nullable: true,
    description:
      'A workflow of this workspace to start whenever an instance of this one fails (null removes it; absent leaves it). It must be published when this workflow is; a handler\'s own failures start no handler.',
  })
  failureHandlerWorkflowId?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      "Whether an inbound message that ends a wait.forMessage of this workflow's instances also starts the workflows its channel triggers (default false: it starts none in this workspace). Absent leaves it; null is refused. A step's alsoStartWorkflows lets its own reply do so either way. Published with each version.",
  })
  repliesAlsoStartWorkflows?: boolean | null;
}

@InputType({ description: "Insert the new step after this step's port, taking over the edge that was there." })
export class InsertionPointInput {
  @Field(() => ID)
  stepId!: string;

  @Field(() => String, { defaultValue: 'next' })
  port!: string;
}

@InputType()
export class AddStepInput {
  @Field(() => ID, {
    nullable: true,
    description: 'Your own id for the step (letters, digits, _ and -, starting with a letter); generated when absent.',
  })
  id?: string;

  @Field(() => String, { description: 'An action type from `actionTypes`.' })
  type!: string;

  @Field(() => String)
  name!: string;

  @Field(() => JSONObjectScalar, { nullable: true, description: "Checked against the type's config schema." })
  config?: JsonObject;

  @Field(() => PositionInput, { nullable: true })
  position?: PositionInput;

  @Field(() => InsertionPointInput, { nullable: true })
  after?: InsertionPointInput;
}

@InputType()
export class UpdateStepInput {
  @Field(() => ID)
  stepId!: string;

  @Field(() => String, { nullable: true })
  name?: string;

  @Field(() => JSONObjectScalar, { nullable: true })
  config?: JsonObject;
}

@InputType()
export class MoveStepInput {
  @Field(() => ID)
  stepId!: string;

  @Field(() => PositionInput)
  position!: PositionInput;
}

@InputType()
export class RemoveStepInput {
  @Field(() => ID)
  stepId!: string;

  @Field(() => Boolean, {
    defaultValue: false,
    description: "Connect the step's predecessors to its only successor.",
  })
  reconnect!: boolean;
}

@InputType()
export class ConnectStepsInput {
  @Field(() => ID)
  from!: string;

  @Field(() => String, { defaultValue: 'next' })
  port!: string;

  @Field(() => ID)
  to!: string;
}

@InputType()
export class DisconnectStepsInput {
  @Field(() => ID)
  from!: string;

  @Field(() => String, { defaultValue: 'next' })
  port!: string;
}

@InputType({ description: 'One edit of an `applyEdits` batch: set exactly one field.' })
export class EditInput {
  @Field(() => AddStepInput, { nullable: true })
  addStep?: AddStepInput;

  @Field(() => UpdateStepInput, { nullable: true })
  updateStep?: UpdateStepInput;

  @Field(() => MoveStepInput, { nullable: true })
  moveStep?: MoveStepInput;

  @Field(() => RemoveStepInput, { nullable: true })
  removeStep?: RemoveStepInput;

  @Field(() => ConnectStepsInput, { nullable: true })
  connectSteps?: ConnectStepsInput;

  @Field(() => DisconnectStepsInput, { nullable: true })
  disconnectSteps?: DisconnectStepsInput;

  @Field(() => UpdateWorkflowInput, { nullable: true })
  updateWorkflow?: UpdateWorkflowInput;
}
