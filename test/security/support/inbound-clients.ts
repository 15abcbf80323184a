import { createHmac } from 'node:crypto';
import {
  ApplyEditsDocument,
  CreateWorkflowDocument,
  InstanceCountsDocument,
  PublishWorkflowDocument,
} from '../../../src/sdk/operations.generated.js';
import { waitFor } from '../../support/fake-http-server.js';
import type { GraphQLClient, TestServer } from '../../support/test-server.js';

/** Secrets the inbound security tests configure their servers with. */
export const META_APP_SECRET = 'meta-app-secret-for-security-tests';
export const TWILIO_AUTH_TOKEN = 'twilio-auth-token-for-security-tests';

/** Server env that turns both providers on with the secrets above. */
export const providerEnv = {
  META_APP_SECRET,
  TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
  TWILIO_AUTH_TOKEN,
} as const;

/** A published workflow with the given trigger, ending at once. */
export async function publishedWorkflow(
  client: GraphQLClient,
  name: string,
  trigger: { type: string; config?: Record<string, unknown> },
): Promise<string> {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name } });
  await client.request(ApplyEditsDocument, {
    workflowId: createWorkflow.id,
    edits: [
      { addStep: { ...trigger, id: 'start', name: 'Start' } },
      { addStep: { id: 'done', type: 'end', name: 'End', after: { stepId: 'start', port: 'next' } } },
    ],
  });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

/** A published workflow started by incoming messages on `channel` matching `keyword`. */
export const messageWorkflow = (client: GraphQLClient, name: string, config: { channel: string; keyword?: string }) =>
  publishedWorkflow(client, name, { type: 'trigger.incomingMessage', config });

export const instanceTotal = async (client: GraphQLClient, workflowId: string): Promise<number> =>
  (await client.request(InstanceCountsDocument, { workflowId })).instanceCounts.total;

export const metaSignature = (body: string | Buffer, secret = META_APP_SECRET): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export function postMeta(origin: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${origin}/inbound/meta`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(body), ...headers },
    body,
  });
}

/** Twilio's algorithm as its docs give it: the URL, then each name and value, sorted by name. */
export function twilioSignature(url: string, params: URLSearchParams, token = TWILIO_AUTH_TOKEN): string {
  const names = [...new Set(params.keys())].sort();
  const data = names.reduce((acc, name) => acc + params.getAll(name).sort().map((v) => name + v).join(''), url);
  return createHmac('sha1', token).update(data, 'utf8').digest('base64');
}

export function postTwilio(origin: string, body: string, signature: string | undefined): Promise<Response> {
  return fetch(`${origin}/inbound/twilio`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature ? { 'x-twilio-signature': signature } : {}),
    },
    body,
  });
}

/** The URL Twilio would have called: PUBLIC_BASE_URL, which defaults to http://localhost:<port>. */
export const twilioUrl = (port: number): string => `http://localhost:${port}/inbound/twilio`;

/** An Instagram delivery of one entry per message, as Meta batches them. */
export function metaInstagramDelivery(messages: readonly { mid: string; text: string }[]): string {
  return JSON.stringify({
    object: 'instagram',
    entry: messages.map((m, i) => ({
      id: '17841400008460056',
      time: 1750000000123 + i,
      messaging: [
        {
          sender: { id: `67950483372${String(i).padStart(5, '0')}` },
          recipient: { id: '17841400008460056' },
          timestamp: 1750000000001 + i,
          message: { mid: m.mid, text: m.text },
        },
      ],
    })),
  });
}

/** Waits until the server has processed a stored delivery (its row says so). */
export async function deliveryProcessed(app: TestServer['app'], deliveryId: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () =>
      (await app.database.sql<{ done: boolean }[]>`select processed_at is not null as done from inbound_deliveries where id = ${deliveryId}`)[0]
        ?.done,
    (done) => done === true,
    { what: `delivery ${deliveryId} to be processed`, timeoutMs, intervalMs: 100 },
  );
}
