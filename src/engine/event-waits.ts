import { AppError, ErrorCode, badInput, limitExceeded } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import { jsonByteLength } from '../domain/json-size.js';
import { eventFieldProblem, type WaitArrival } from '../domain/wait.js';
import type { WaitStore, WokenStep } from '../ports/wait.store.port.js';
import type { EngineDeps } from './engine-deps.js';
import { planWake } from './step-outcome.js';
import type { RunActor } from './workflow-runner.js';

/** Limits on events; they come from validated configuration. */
export interface EventLimits {
  /** How long an event nobody waits for yet is kept for the first wait that reaches it. */
  readonly retentionMs: number;
  /** Most kept events of one workspace, name and key. */
  readonly maxPendingPerKey: number;
  /** Most kept events of one workspace. */
  readonly maxPendingPerWorkspace: number;
  /** Largest payload, as bytes of JSON. */
  readonly maxPayloadBytes: number;
}

export interface EventWaitsOptions {
  readonly deps: Pick<EngineDeps, 'clock' | 'scheduler' | 'onEvents' | 'onStepsDue' | 'logger'>;
  readonly waits: WaitStore;
  readonly limits: EventLimits;
}

/** What became of a sent event. */
export interface EventSendResult {
  /** The instances it resumed: every one waiting for it in the workspace. */
  readonly resumedInstanceIds: readonly string[];
  /** When none waited: it is kept until then for the first instance that reaches a wait for it. */
  readonly keptUntil: Date | null;
}

/**
 * Events and the `wait.forEvent` steps they end. An event wakes every step of its workspace that
 * waits for its name and key; when none does, it is kept for a while and the first step to begin
 * such a wait takes it. A woken step runs at once and continues on `received`; its timeout and a
 * wake race through one compare-and-set, so each wait ends on exactly one port.
 */
export class EventWaits {
  constructor(private readonly options: EventWaitsOptions) {}

  /** Sends an event in the actor's workspace. */
  async send(actor: RunActor, input: { name: string; key: string; payload: JsonValue }): Promise<EventSendResult> {
    const { deps, waits, limits } = this.options;
    const { name, key, payload } = input;
    for (const [field, value] of [['name', name], ['key', key]] as const) {
      const problem = eventFieldProblem(field, value);
      if (problem !== undefined) throw badInput(problem, field);
    }
    const size = jsonByteLength(payload);
    if (size > limits.maxPayloadBytes) {
      throw new AppError(ErrorCode.LIMIT_EXCEEDED, `The payload is ${size} bytes; at most ${limits.maxPayloadBytes} are accepted`, {
        field: 'payload',
        limit: limits.maxPayloadBytes,
      });
    }
    const now = deps.clock.now();
    const arrival: WaitArrival = { reason: 'event', payload, at: now.toISOString() };
    const delivery = await waits.deliverEvent({
      event: { workspaceId: actor.workspaceId, name, key, payload },
      now,
      keep: {
        expiresAt: new Date(now.getTime() + limits.retentionMs),
        maxPerKey: limits.maxPendingPerKey,
        maxPerWorkspace: limits.maxPendingPerWorkspace,
      },
      wake: (step) => planWake({ step, arrival, now, detail: { event: name, key } }),
    });
    switch (delivery.outcome) {
      case 'woken':
        await Promise.all(delivery.woken.map((w) => this.resume(w)));
        return { resumedInstanceIds: delivery.woken.map((w) => w.instanceId), keptUntil: null };
      case 'kept':
        return { resumedInstanceIds: [], keptUntil: delivery.expiresAt };
      case 'full':
        throw limitExceeded(
          delivery.limit === 'key'
            ? `${delivery.max} events named '${name}' with this key are kept already and no instance waits for them; wait for one to be taken or to expire`
            : `This workspace keeps ${delivery.max} events no instance waits for already; wait for some to be taken or to expire`,
          { field: delivery.limit === 'key' ? 'key' : 'name', limit: delivery.max },
        );
    }
  }

  /**
   * After a step began to wait (its commit is in): wakes it with an event kept for it, if it waits
   * for an event and there is one. When it no longer waits at all (an event woke it between its commit and now,
   * and the job its own commit enqueued for its timeout may have replaced the one the wake
   * enqueued), its job is moved to now: a job for a step that is not due is put back, one for a
   * step that is no longer runnable does nothing.
   */
  async afterWaitBegan(wait: { readonly stepRunId: string }): Promise<void> {
    const { deps, waits } = this.options;
    const now = deps.clock.now();
    const took = await waits.takeKeptEvent({
      stepRunId: wait.stepRunId,
      now,
      wake: (step, kept) =>
        planWake({
          step,
          arrival: { reason: 'event', payload: kept.payload, at: kept.sentAt.toISOString() },
          now,
          detail: { kept: true, sentAt: kept.sentAt.toISOString() },
        }),
    });
    if (took.outcome === 'woken') await this.resume(took.woken);
    else if (took.outcome === 'notWaiting') await deps.scheduler.enqueue(wait.stepRunId);
  }

  /** Deletes events kept past their time; returns how many (the sweep calls it). */
  purgeExpired(limit: number): Promise<number> {
    return this.options.waits.purgeExpired({ now: this.options.deps.clock.now(), limit });
  }

  private async resume(woken: WokenStep): Promise<void> {
    const { deps } = this.options;
    deps.onEvents?.(woken.events);
    deps.onStepsDue?.([woken.stepRunId]);
    // A woken wait's job is its timeout's: moved, not made.
    await deps.scheduler.enqueue(woken.stepRunId, undefined, { replacing: true });
  }
}
