import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt, lte, sql } from 'drizzle-orm';
import type { JsonValue } from '../domain/json.js';
import type { RunChange } from '../ports/run-records.js';
import type {
  EventDelivery,
  KeepPolicy,
  KeptEventTake,
  MessageWaitMatch,
  MessageWokenStep,
  SentEvent,
  WaitingStep,
  WaitStore,
  WokenStep,
} from '../ports/wait.store.port.js';
import type { Db, DbOrTx } from './database.js';
import { commitWithin } from './run-command.repository.js';
import { pendingEvents } from './tables/pending-event.table.js';
import { stepRuns } from './tables/step-run.table.js';
import { stepWaits } from './tables/step-wait.table.js';

/**
 * Serialises, per workspace, name and key, the two ways an event meets a wait (see WaitStore):
 * under READ COMMITTED each transaction sees what the other committed before it took the lock.
 * The unit separator cannot occur in names or keys (control characters are refused).
 */
const lockEventKey = (tx: DbOrTx, e: { workspaceId: string; name: string; key: string }) =>
  tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`${e.workspaceId}\u001f${e.name}\u001f${e.key}`}, 0))`);

const waitingColumns = {
  stepRunId: stepWaits.stepRunId,
  stepId: stepRuns.stepId,
  instanceId: stepRuns.instanceId,
  attempt: stepRuns.attempt,
  fence: stepRuns.fence,
};

/** A registration holds while its step is SCHEDULED at the fence it was made at. */
const stillWaiting = and(eq(stepRuns.id, stepWaits.stepRunId), eq(stepRuns.fence, stepWaits.fence), eq(stepRuns.status, 'SCHEDULED'));

/** Kept rows of at most `limit` (a count that stops early: the limits are small next to the table). */
async function countUpTo(tx: DbOrTx, where: ReturnType<typeof sql>, limit: number): Promise<number> {
  const rows = (await tx.execute(sql`select count(*)::int as n from (select 1 from pending_events where ${where} limit ${limit}) as kept`)) as unknown as {
    n: number;
  }[];
  return Number(rows[0]?.n ?? 0);
}

/** Waits and kept events on drizzle (see WaitStore). */
export class WaitRepository implements WaitStore {
  constructor(private readonly db: Db) {}

  deliverEvent(input: { event: SentEvent; now: Date; keep: KeepPolicy; wake: (step: WaitingStep) => RunChange }): Promise<EventDelivery> {
    const { event, now, keep, wake } = input;
    return this.db.transaction(async (tx) => {
      await lockEventKey(tx, event);
      // In instance order, as every commit batch locks instance rows: no deadlock with them.
      const waiting = await tx
        .select(waitingColumns)
        .from(stepWaits)
        .innerJoin(stepRuns, stillWaiting)
        .where(
          and(
            eq(stepWaits.workspaceId, event.workspaceId),
            eq(stepWaits.reason, 'event'),
            eq(stepWaits.topic, event.name),
            eq(stepWaits.key, event.key),
          ),
        )
        .orderBy(asc(stepRuns.instanceId));
      const woken: WokenStep[] = [];
      for (const step of waiting) {
        const result = await commitWithin(tx, wake(step), now);
        if (result.ok) woken.push({ stepRunId: step.stepRunId, instanceId: step.instanceId, events: result.events });
      }
      if (woken.length > 0) return { outcome: 'woken', woken };

      const sameKey = and(eq(pendingEvents.workspaceId, event.workspaceId), eq(pendingEvents.name, event.name), eq(pendingEvents.key, event.key));
      await tx.delete(pendingEvents).where(and(sameKey, lte(pendingEvents.expiresAt, now)));
      const liveOfKey = sql`workspace_id = ${event.workspaceId} and name = ${event.name} and key = ${event.key} and expires_at > ${now.toISOString()}::timestamptz`;
      if ((await countUpTo(tx, liveOfKey, keep.maxPerKey)) >= keep.maxPerKey) {
        return { outcome: 'full', limit: 'key', max: keep.maxPerKey };
      }
      const liveOfWorkspace = sql`workspace_id = ${event.workspaceId} and expires_at > ${now.toISOString()}::timestamptz`;
      if ((await countUpTo(tx, liveOfWorkspace, keep.maxPerWorkspace)) >= keep.maxPerWorkspace) {
        return { outcome: 'full', limit: 'workspace', max: keep.maxPerWorkspace };
      }
      const id = randomUUID();
      await tx.insert(pendingEvents).values({
        id,
        workspaceId: event.workspaceId,
        name: event.name,
        key: event.key,
        payload: event.payload,
        sentAt: now,
        expiresAt: keep.expiresAt,
      });
      return { outcome: 'kept', eventId: id, expiresAt: keep.expiresAt };
    });
  }

  takeKeptEvent(input: {
    stepRunId: string;
    now: Date;
    wake: (step: WaitingStep, kept: { payload: JsonValue; sentAt: Date }) => RunChange;
  }): Promise<KeptEventTake> {
    const { stepRunId, now, wake } = input;
    return this.db.transaction(async (tx) => {
      const [found] = await tx
        .select({ ...waitingColumns, workspaceId: stepWaits.workspaceId, reason: stepWaits.reason, name: stepWaits.topic, key: stepWaits.key })
        .from(stepWaits)
        .innerJoin(stepRuns, stillWaiting)
        .where(eq(stepWaits.stepRunId, stepRunId));
      if (!found) return { outcome: 'notWaiting' };
      // Nothing is kept for other waits (a message that came first does not count).
      if (found.reason !== 'event') return { outcome: 'waiting' };
      await lockEventKey(tx, found);
      const [kept] = await tx
        .select({ id: pendingEvents.id, payload: pendingEvents.payload, sentAt: pendingEvents.sentAt })
        .from(pendingEvents)
        .where(
          and(
            eq(pendingEvents.workspaceId, found.workspaceId),
            eq(pendingEvents.name, found.name),
            eq(pendingEvents.key, found.key),
            gt(pendingEvents.expiresAt, now),
          ),
        )
        .orderBy(asc(pendingEvents.sentAt), asc(pendingEvents.id))
        .limit(1);
      if (!kept) return { outcome: 'waiting' };
      const result = await commitWithin(tx, wake(found, { payload: kept.payload ?? null, sentAt: kept.sentAt }), now);
      if (!result.ok) return { outcome: 'notWaiting' };
      await tx.delete(pendingEvents).where(eq(pendingEvents.id, kept.id));
      return { outcome: 'woken', woken: { stepRunId: found.stepRunId, instanceId: found.instanceId, events: result.events } };
    });
  }

  async contactsWaiting(channel: string, contacts: readonly string[]): Promise<ReadonlySet<string>> {
    if (contacts.length === 0) return new Set();
    // One JSON parameter rather than one per contact: a delivery's senders run to thousands, and
    // building and sending a statement of thousands of parameters held the event loop for tens of ms.
    // Each contact is looked up on its own (a lateral subquery with a limit is not flattened into a
    // join), by equality on both columns of the index. As `key = any(array(...))` the planner, with
    // no statistics on the table yet, used the index for the channel only and filtered every
    // waiting row of it by key: 6.5 ms a reply with 10,000 waiting; as `in (select ...)`, a join
    // over every waiting row.
    const rows = (await this.db.execute(sql`
      select c.key from jsonb_array_elements_text(${JSON.stringify([...new Set(contacts)])}::jsonb) as c(key)
      cross join lateral (
        select 1 from ${stepWaits} inner join ${stepRuns} on ${stillWaiting}
        where ${stepWaits.reason} = 'message' and ${stepWaits.topic} = ${channel} and ${stepWaits.key} = c.key
        limit 1
      ) as waiting`)) as unknown as { key: string }[];
    return new Set(rows.map((r) => r.key));
  }

  deliverMessage(input: {
    channel: string;
    contact: string;
    now: Date;
    accepts: (match: MessageWaitMatch) => boolean;
    wake: (step: WaitingStep) => RunChange;
  }): Promise<readonly MessageWokenStep[]> {
    const { channel, contact, now, accepts, wake } = input;
    return this.db.transaction(async (tx) => {
      // In instance order, as every commit batch locks instance rows: no deadlock with them.
      const waiting = await tx
        .select({ ...waitingColumns, workspaceId: stepWaits.workspaceId, match: stepWaits.match })
        .from(stepWaits)
        .innerJoin(stepRuns, stillWaiting)
        .where(and(eq(stepWaits.reason, 'message'), eq(stepWaits.topic, channel), eq(stepWaits.key, contact)))
        .orderBy(asc(stepRuns.instanceId));
      const woken: MessageWokenStep[] = [];
      for (const step of waiting) {
        const match = step.match ?? { stepId: step.stepId, alsoStartsWorkflows: false };
        if (!accepts(match)) continue;
        // A miss: the timeout started it, or another message woke it first; this one goes on.
        const result = await commitWithin(tx, wake(step), now);
        if (!result.ok) continue;
        woken.push({
          stepRunId: step.stepRunId,
          instanceId: step.instanceId,
          events: result.events,
          workspaceId: step.workspaceId,
          alsoStartsWorkflows: match.alsoStartsWorkflows,
        });
      }
      return woken;
    });
  }

  async purgeExpired(input: { now: Date; limit: number }): Promise<number> {
    const rows = await this.db.execute(
      sql`delete from pending_events where id in (select id from pending_events where expires_at <= ${input.now.toISOString()}::timestamptz limit ${input.limit}) returning id`,
    );
    return rows.length;
  }
}
