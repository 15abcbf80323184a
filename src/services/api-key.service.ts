import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AppError, ErrorCode, badInput, notFound, rateLimited } from '../domain/errors.js';
import type { ApiKeyRecord, ApiKeyStore, WorkspaceRecord } from '../ports/api-key.store.port.js';
import type { FailedKeyAttemptLimiter } from './failed-key-attempts.limiter.js';

/** Who is making a request: the workspace the key is bound to, and the key. */
export interface Actor {
  readonly workspaceId: string;
  readonly apiKeyId: string;
}

/** A freshly created key: the only time its secret is known. */
export interface IssuedKey {
  readonly record: ApiKeyRecord;
  readonly secret: string;
}

const KEY_PREFIX = 'wfb_';

const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

function newSecret(): { secret: string; prefix: string; hash: string } {
  // 256 bits of randomness; stored only as a SHA-256 hash, which is safe for high-entropy secrets.
  const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { secret, prefix: secret.slice(0, KEY_PREFIX.length + 6), hash: hashKey(secret) };
}

export interface ApiKeyServiceOptions {
  readonly store: ApiKeyStore;
  /** Throttles failed key attempts per client address; without it (the CLI), nothing is throttled. */
  readonly failedAttempts?: FailedKeyAttemptLimiter;
  /**
   * Called after a revocation commits and before `revokeKey` returns: tells every process, which
   * closes the key's open sockets.
   */
  readonly onRevoked?: (key: ApiKeyRecord) => Promise<void>;
}

/** Where a request comes from, as far as the server can tell (see TRUST_PROXY). */
export interface RequestOrigin {
  readonly clientAddress: string;
}

/**
 * Hashes of keys that authenticated (or were created) here recently, so that a client address
 * throttled for failed attempts does not lock out the keys that work from it (a NAT, or a proxy
 * not trusted).
 */
const KNOWN_KEYS = 10_000;

/** Issues, checks and revokes API keys. */
export class ApiKeyService {
  private readonly store: ApiKeyStore;
  private readonly failedAttempts: FailedKeyAttemptLimiter | undefined;
  private readonly onRevoked: ((key: ApiKeyRecord) => Promise<void>) | undefined;
  private readonly knownKeys = new LRUCache<string, true>({ max: KNOWN_KEYS });

  constructor(options: ApiKeyServiceOptions) {
    this.store = options.store;
    this.failedAttempts = options.failedAttempts;
    this.onRevoked = options.onRevoked;
  }

  /**
   * The actor for an `Authorization` header value; UNAUTHENTICATED when it is missing or wrong.
   * With an `origin`, an address that failed too often is refused with RATE_LIMITED (`retryAfter`
   * seconds) before its key is looked up, unless the key is one that has worked here before.
   */
  async authenticate(authorization: string | undefined, origin?: RequestOrigin): Promise<Actor> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) {
      throw new AppError(ErrorCode.UNAUTHENTICATED, 'Send an API key as "Authorization: Bearer <key>"');
    }
    const hash = hashKey(match[1]!);
    const limiter = origin && this.failedAttempts;
    const known = this.knownKeys.has(hash);
    if (limiter && !known) {
      const waitMs = await limiter.take(origin.clientAddress);
      if (waitMs > 0) throw rateLimited(waitMs);
    }
    const key = await this.store.findLiveKeyByHash(hash);
    if (!key) {
      this.knownKeys.delete(hash);
      if (limiter && known) await limiter.recordFailure(origin.clientAddress);
      throw new AppError(ErrorCode.UNAUTHENTICATED, 'The API key is unknown or revoked');
    }
    if (limiter && !known) await limiter.refund(origin.clientAddress);
    this.knownKeys.set(hash, true);
    return { workspaceId: key.workspaceId, apiKeyId: key.id };
  }

  /** Whether the actor's key is still live (not revoked): for connections that outlive one check. */
  async isLive(actor: Actor): Promise<boolean> {
    return (await this.store.liveKeyIds([actor.apiKeyId])).length > 0;
  }

  /** Of these key ids, the ones revoked (or gone). */
  async revokedAmong(ids: readonly string[]): Promise<string[]> {
    const live = new Set(await this.store.liveKeyIds(ids));
    return ids.filter((id) => !live.has(id));
  }

  async createKey(actor: Actor, name: string): Promise<IssuedKey> {
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > 100) throw badInput('A key name has 1 to 100 characters', 'name');
    const { secret, prefix, hash } = newSecret();
    const record = await this.store.insertKey({ workspaceId: actor.workspaceId, name: trimmed, prefix, hash });
    this.knownKeys.set(hash, true);
    return { record, secret };
  }

  listKeys(actor: Actor): Promise<ApiKeyRecord[]> {
    return this.store.listKeys(actor.workspaceId);
  }

  async revokeKey(actor: Actor, id: string): Promise<ApiKeyRecord> {
    const key = await this.store.revokeKey(actor.workspaceId, id);
    if (!key) throw notFound('API key', id);
    await this.onRevoked?.(key);
    return key;
  }

  /** A new workspace with its first key (used by the CLI). */
  async createWorkspace(name: string): Promise<{ workspace: WorkspaceRecord; key: IssuedKey }> {
    const workspace = await this.store.createWorkspace({ name });
    const { secret, prefix, hash } = newSecret();
    const record = await this.store.insertKey({ workspaceId: workspace.id, name: 'default', prefix, hash });
    return { workspace, key: { record, secret } };
  }

  /** On an empty database: the default workspace and a key, returned once so it can be printed. */
  async bootstrap(): Promise<{ workspace: WorkspaceRecord; key: IssuedKey } | undefined> {
    const { secret, prefix, hash } = newSecret();
    const made = await this.store.bootstrapIfEmpty({
      workspaceName: 'Default workspace',
      keyName: 'bootstrap',
      prefix,
      hash,
    });
    return made && { workspace: made.workspace, key: { record: made.key, secret } };
  }
}
