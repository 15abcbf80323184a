import { evaluateCondition } from '../domain/condition.js';
import type { JsonObject } from '../domain/json.js';
import type { WaitArrival } from '../domain/wait.js';
import type { MessageWaitMatch, WaitStore } from '../ports/wait.store.port.js';
import type { EngineDeps } from './engine-deps.js';
import { planWake } from './step-outcome.js';

export interface MessageWaitsOptions {
  readonly deps: Pick<EngineDeps, 'clock' | 'scheduler' | 'onEvents' | 'onStepsDue'>;
  readonly waits: Pick<WaitStore, 'contactsWaiting' | 'deliverMessage'>;
}

/** An inbound message as a waiting step receives it: its channel, sender, and the step's output. */
export interface ArrivedMessage {
  readonly channel: string;
  readonly from: string;
  /** The step's output (`steps.<id>.output.text`...), and what its condition reads. */
  readonly output: JsonObject;
  readonly receivedAt: Date;
}

/** What a message did to the waits. */
export interface MessageDelivery {
  readonly resumedInstanceIds: readonly string[];
  /**
   * Workspaces in which it resumed a wait that keeps it to itself (the default): the message
   * starts none of their workflows.
   */
  readonly keptBy: ReadonlySet<string>;
  /**
   * The woken steps' jobs being enqueued: the wakes are committed when deliver resolves, and the
   * caller goes on with the message meanwhile. A step whose job could not be enqueued is due
   * with no job, which the sweep enqueues again.
   */
  readonly scheduled: Promise<void>;
}

/**
 * The `wait.forMessage` steps and the inbound messages that end them: a message from the contact a
 * step waits for, on its channel, that satisfies its condition, wakes it (through the same fenced
 * compare-and-set as an event, so a wait ends on exactly one port). Every such step is woken, in
 * every workspace, as inbound triggers start workflows of every workspace.
 */
export class MessageWaits {
  constructor(private readonly options: MessageWaitsOptions) {}

  /** Of these senders on this channel, those a step waits for. */
  contactsWaiting(channel: string, contacts: readonly string[]): Promise<ReadonlySet<string>> {
    return this.options.waits.contactsWaiting(channel, contacts);
  }

  async deliver(message: ArrivedMessage): Promise<MessageDelivery> {
    const { deps, waits } = this.options;
    const now = deps.clock.now();
    const arrival: WaitArrival = { reason: 'message', payload: message.output, at: message.receivedAt.toISOString() };
    const woken = await waits.deliverMessage({
      channel: message.channel,
      contact: message.from,
      now,
      accepts: (match) => accepts(match, message.output),
      wake: (step) => planWake({ step, arrival, now, detail: { channel: message.channel, from: message.from } }),
    });
    for (const w of woken) deps.onEvents?.(w.events);
    if (woken.length > 0) deps.onStepsDue?.(woken.map((w) => w.stepRunId));
    // A woken wait's job is its timeout's: moved, not made.
    const scheduled = Promise.all(woken.map((w) => deps.scheduler.enqueue(w.stepRunId, undefined, { replacing: true }))).then(() => undefined);
    return {
      scheduled,
      resumedInstanceIds: woken.map((w) => w.instanceId),
      keptBy: new Set(woken.filter((w) => !w.alsoStartsWorkflows).map((w) => w.workspaceId)),
    };
  }
}

/** A bound condition reads only the message, as the waiting step's output. */
const accepts = (match: MessageWaitMatch, output: JsonObject): boolean =>
  match.when === undefined || evaluateCondition(match.when, { steps: { [match.stepId]: { output } } });
