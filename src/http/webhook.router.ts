import { Router, type Request } from 'express';
import type { Logger } from 'pino';
import type { TriggerCatalog } from '../actions/trigger-start.js';
import { MAX_IDEMPOTENCY_KEY_CHARS, type IdempotencyClaim } from '../domain/idempotency.js';
import type { JsonValue } from '../domain/json.js';
import type { CompiledVersion } from '../engine/compiled-version.js';
import type { WorkflowRunner } from '../engine/workflow-runner.js';
import type { Clock } from '../ports/clock.port.js';
import type { WebhookCredentials, WebhookStore } from '../ports/webhook.store.port.js';
import type { WorkflowStore } from '../ports/workflow.store.port.js';
import { HttpError, HttpErrorCode, methodNotAllowed } from './http-error.js';
import { parseJsonBody, requireJson, type RawBodyReader } from './request-body.js';
import { hashWebhookToken, looksLikeWebhookToken } from '../services/webhook-credentials.js';
import { checkWebhookSignature, SIGNATURE_FAILURE_MESSAGES, WEBHOOK_SIGNATURE_HEADER } from './webhook-signature.js';


/** Request headers copied into the trigger input, besides every `x-wfb-*` but the signature. */
const FORWARDED_HEADERS: ReadonlySet<string> = new Set(['content-type', 'user-agent', 'x-request-id']);
/** Node lower-cases incoming header names. */
const SIGNATURE_HEADER_NAME = WEBHOOK_SIGNATURE_HEADER.toLowerCase();

export interface WebhookRouterOptions {
  readonly webhooks: WebhookStore;
  readonly workflows: WorkflowStore;
  readonly versions: { get(workflowId: string, version: number): Promise<CompiledVersion> };
  /** Says which trigger types a webhook call starts (`start.kind: 'webhook'`). */
  readonly triggers: Pick<TriggerCatalog, 'startOf'>;
  readonly runner: Pick<WorkflowRunner, 'start'>;
  readonly clock: Clock;
  readonly body: RawBodyReader;
  /** How far a signature timestamp may be from now, in seconds. */
  readonly signatureToleranceS: number;
  readonly logger: Logger;
}

/** The trigger input of a webhook call (a type alias, so it is a JsonObject). */
export type WebhookTriggerInput = {
  body: JsonValue;
  headers: Record<string, string>;
  /** ISO 8601. */
  receivedAt: string;
};

function selectedHeaders(req: Request): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (FORWARDED_HEADERS.has(name) || (name.startsWith('x-wfb-') && name !== SIGNATURE_HEADER_NAME)) {
      picked[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return picked;
}

function idempotencyOf(req: Request): IdempotencyClaim | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_CHARS || !/^[\x20-\x7e]+$/.test(key)) {
    throw new HttpError(
      HttpErrorCode.BAD_REQUEST,
      `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters`,
    );
  }
  return { source: 'webhook', key };
}

/**
 * `POST /hooks/:token`: starts the workflow behind the token with the JSON body as trigger input.
 * Checks in this order, each answering with its own status: token (404), content type (415),
 * size (413), signature when the webhook has a secret (401), JSON (400), Idempotency-Key (400),
 * workflow state and trigger type (409). Nothing is started unless every check passes.
 */
export function createWebhookRouter(options: WebhookRouterOptions): Router {
  const router = Router();

  const findHook = async (token: string): Promise<WebhookCredentials> => {
    const hook = looksLikeWebhookToken(token) ? await options.webhooks.findByTokenHash(hashWebhookToken(token)) : undefined;
    if (!hook) throw new HttpError(HttpErrorCode.NOT_FOUND, 'No webhook has this URL; it may have been rotated');
    return hook;
  };

  const ensureStartable = async (hook: WebhookCredentials): Promise<void> => {
    const wf = await options.workflows.get(hook.workspaceId, hook.workflowId);
    if (!wf) throw new HttpError(HttpErrorCode.NOT_FOUND, 'No webhook has this URL; it may have been rotated');
    if (wf.status !== 'ACTIVE' || wf.latestVersion === null) {
      throw new HttpError(
        HttpErrorCode.WORKFLOW_NOT_STARTABLE,
        wf.status === 'ARCHIVED' ? 'The workflow is archived' : 'The workflow is not published yet',
      );
    }
    const version = await options.versions.get(wf.id, wf.latestVersion);
    const trigger = version.triggerId ? version.step(version.triggerId) : undefined;
    if (trigger === undefined || options.triggers.startOf(trigger.type)?.kind !== 'webhook') {
      throw new HttpError(
        HttpErrorCode.WORKFLOW_NOT_STARTABLE,
        `The newest published version is not triggered by a webhook (its trigger is ${trigger?.type ?? 'missing'})`,
      );
    }
  };

  router.post('/hooks/:token', async (req, res) => {
    const receivedAt = options.clock.now();
    const { token } = req.params;
    const hook = await findHook(typeof token === 'string' ? token : '');
    requireJson(req);
    const raw = await options.body.read(req, res);
    if (hook.signingSecret !== null) {
      const failure = checkWebhookSignature({
        header: req.get(WEBHOOK_SIGNATURE_HEADER),
        secret: hook.signingSecret,
        body: raw,
        now: options.clock.now(),
        toleranceS: options.signatureToleranceS,
      });
      if (failure) {
        options.logger.info({ workflowId: hook.workflowId, failure }, 'webhook call refused: bad signature');
        throw new HttpError(HttpErrorCode.INVALID_SIGNATURE, SIGNATURE_FAILURE_MESSAGES[failure]);
      }
    }
    const body = parseJsonBody(raw);
    const idempotency = idempotencyOf(req);
    await ensureStartable(hook);
    const input: WebhookTriggerInput = { body, headers: selectedHeaders(req), receivedAt: receivedAt.toISOString() };
    const { instance, created } = await options.runner.start(
      { workspaceId: hook.workspaceId },
      { workflowId: hook.workflowId, input, ...(idempotency ? { idempotency } : {}) },
    );
    res.status(202).json({ instanceId: instance.id, created });
  });

  router.all('/hooks/:token', methodNotAllowed(['POST']));

  return router;
}
