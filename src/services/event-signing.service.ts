import type { EventSigningStore } from '../ports/event-signing.store.port.js';
import { newSigningSecret } from './webhook-credentials.js';

/** Who asks: every operation is on this workspace's secret. */
export interface EventSigningActor {
  readonly workspaceId: string;
}

/** A workspace's event signing as shown to it: where to post signed events, never the secret. */
export interface EventSigning {
  /** The full URL of `POST /events/:workspaceId`. */
  readonly url: string;
  readonly createdAt: Date;
}

export interface EventSigningServiceOptions {
  readonly store: EventSigningStore;
  /** The public origin of the server, without a trailing slash (known only once it listens). */
  readonly publicBaseUrl: () => string;
}

/** The path signed events of a workspace are posted to. */
export const signedEventsPath = (workspaceId: string): string => `/events/${workspaceId}`;

/**
 * Creates, rotates and revokes a workspace's event signing secret: the key of the
 * `X-Wfb-Signature` that `POST /events/:workspaceId` takes instead of an API key. Secrets are made
 * as webhook signing secrets are.
 */
export class EventSigningService {
  constructor(private readonly options: EventSigningServiceOptions) {}

  async get(actor: EventSigningActor): Promise<EventSigning | undefined> {
    const record = await this.options.store.get(actor.workspaceId);
    return record && { url: this.url(actor), createdAt: record.createdAt };
  }

  /** A new secret, replacing any old one at once (so also how to rotate it); the only time it is shown. */
  async create(actor: EventSigningActor): Promise<EventSigning & { secret: string }> {
    const secret = newSigningSecret();
    const record = await this.options.store.put(actor.workspaceId, secret);
    return { secret, url: this.url(actor), createdAt: record.createdAt };
  }

  /** Removes the secret; signed calls are refused from then on. False when there was none. */
  revoke(actor: EventSigningActor): Promise<boolean> {
    return this.options.store.delete(actor.workspaceId);
  }

  private url(actor: EventSigningActor): string {
    return `${this.options.publicBaseUrl()}${signedEventsPath(actor.workspaceId)}`;
  }
}
