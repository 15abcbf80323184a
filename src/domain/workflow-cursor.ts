import { badInput } from './errors.js';

/**
 * A position in a workflow's event stream: the events of transactions with ids in [lo, hi) after
 * `after` (a global event cursor), then everything from `hi` on. Because no transaction below a
 * horizon can still commit, the set of events in [lo, hi) never changes once delivered, so
 * resuming from a cursor neither skips nor repeats an event.
 */
export interface WorkflowCursor {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly after: number;
}

/** The start of the stream: every stored event. */
export const BEGINNING: WorkflowCursor = { lo: 0n, hi: 0n, after: 0 };

export function encodeWorkflowCursor(c: WorkflowCursor): string {
  return Buffer.from(`${c.lo}.${c.hi}.${c.after}`).toString('base64url');
}

/** Transaction ids are xid8: 64 bits, unsigned. */
const MAX_XID = 2n ** 64n - 1n;

/**
 * Parses `since`; "0" means the beginning. BAD_USER_INPUT for anything else that is not ours,
 * including numbers no transaction id or event cursor can reach, which Postgres would refuse.
 */
export function decodeWorkflowCursor(since: string): WorkflowCursor {
  if (since === '0') return BEGINNING;
  const refused = () => badInput('since is not a cursor this server issued', 'since');
  if (since.length > 128) throw refused();
  const match = /^(\d{1,20})\.(\d{1,20})\.(\d{1,16})$/.exec(Buffer.from(since, 'base64url').toString('utf8'));
  if (!match) throw refused();
  const c = { lo: BigInt(match[1]!), hi: BigInt(match[2]!), after: Number(match[3]) };
  if (c.lo > c.hi || c.hi > MAX_XID || !Number.isSafeInteger(c.after)) throw refused();
  return c;
}
