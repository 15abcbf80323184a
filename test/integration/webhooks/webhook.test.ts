import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ApplyEditsDocument,
  ArchiveWorkflowDocument,
  CreateWebhookDocument,
  CreateWorkflowDocument,
  DeleteWebhookDocument,
  InstanceCountsDocument,
  InstanceDocument,
  PublishWorkflowDocument,
  RotateWebhookTokenDocument,
  SetWebhookSigningDocument,
  WorkflowWebhookDocument,
  type EditInput,
} from '../../../src/sdk/operations.generated.js';
import { waitFor } from '../../support/fake-http-server.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../../support/test-server.js';

const MAX_BODY = 4096;

let server: TestServer;
let client: GraphQLClient;
let origin: string;

beforeAll(async () => {
  server = await startTestServer({ env: { WEBHOOK_MAX_BODY_BYTES: String(MAX_BODY) } });
  client = server.client;
  origin = new URL(server.url).origin;
});
afterAll(async () => {
  await server?.stop();
});

const webhookTrigger: EditInput[] = [
  { addStep: { id: 'hook', type: 'trigger.webhook', name: 'Webhook', config: { description: 'from the shop' } } },
  { addStep: { id: 'done', type: 'end', name: 'End', after: { stepId: 'hook', port: 'next' } } },
];

async function workflow(name: string, options: { publish?: boolean; edits?: EditInput[] } = {}): Promise<string> {
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name } });
  await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits: options.edits ?? webhookTrigger });
  if (options.publish ?? true) await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

/** A published webhook workflow and its token (and signing secret, when asked). */
async function hooked(name: string, signingSecret = false) {
  const workflowId = await workflow(name);
  const { createWebhook } = await client.request(CreateWebhookDocument, { workflowId, signingSecret });
  return { workflowId, token: createWebhook.token, secret: createWebhook.signingSecret };
}

function post(token: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return fetch(`${origin}/hooks/${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

/** The X-Wfb-Signature value, computed as the README tells callers to. */
function sign(secret: string, body: string | Buffer, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

const total = async (workflowId: string) => (await client.request(InstanceCountsDocument, { workflowId })).instanceCounts.total;

async function expectRefused(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
}

describe('managing a webhook through GraphQL', () => {
  test('createWebhook issues a URL with an unguessable token, shown once; only its hash is stored', async () => {
    const workflowId = await workflow('Managed hook');
    const { createWebhook } = await client.request(CreateWebhookDocument, { workflowId });
    const { token, url, prefix } = createWebhook;
    expect(token).toMatch(/^whk_[A-Za-z0-9_-]{43}$/);
    expect(url).toBe(`http://localhost:${server.app.port}/hooks/${token}`);
    expect(prefix).toBe(token.slice(0, 10));
    expect(createWebhook.signingSecret).toBeNull();
    expect(createWebhook.webhook).toMatchObject({ prefix, signingEnabled: false, rotatedAt: null });

    const { workflow: seen } = await client.request(WorkflowWebhookDocument, { id: workflowId });
    expect(seen.webhook).toMatchObject({ prefix, signingEnabled: false, rotatedAt: null });

    const rows = await server.app.database.sql<{ token_hash: string; row: string }[]>`
      select token_hash, row_to_json(w)::text as row from webhook_endpoints w where workflow_id = ${workflowId}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(rows[0]!.row).not.toContain(token);

    const again = await client.expectError(CreateWebhookDocument, { workflowId });
    expect(again.extensions?.code).toBe('INVALID_STATE');
  });

  test('rotation, signing and deletion; another workspace sees NOT_FOUND', async () => {
    const { workflowId, token } = await hooked('Rotated hook');
    const { rotateWebhookToken } = await client.request(RotateWebhookTokenDocument, { workflowId });
    expect(rotateWebhookToken.token).not.toBe(token);
    expect(rotateWebhookToken.signingSecret).toBeNull();
    expect(rotateWebhookToken.webhook.rotatedAt).not.toBeNull();

    const { setWebhookSigning } = await client.request(SetWebhookSigningDocument, { workflowId, enabled: true });
    expect(setWebhookSigning.signingSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(setWebhookSigning.webhook.signingEnabled).toBe(true);

    const other = await server.newWorkspace('other');
    const refusals = await Promise.all([
      other.client.expectError(CreateWebhookDocument, { workflowId }),
      other.client.expectError(RotateWebhookTokenDocument, { workflowId }),
      other.client.expectError(SetWebhookSigningDocument, { workflowId, enabled: false }),
      other.client.expectError(DeleteWebhookDocument, { workflowId }),
      other.client.expectError(WorkflowWebhookDocument, { id: workflowId }),
    ]);
    expect(refusals.map((e) => e.extensions?.code)).toEqual(Array(5).fill('NOT_FOUND'));

    expect((await client.request(DeleteWebhookDocument, { workflowId })).deleteWebhook).toBe(true);
    expect((await client.request(DeleteWebhookDocument, { workflowId })).deleteWebhook).toBe(false);
    expect((await client.request(WorkflowWebhookDocument, { id: workflowId })).workflow.webhook).toBeNull();
    await expectRefused(await post(rotateWebhookToken.token, '{}'), 404, 'NOT_FOUND');
  });
});

describe('POST /hooks/:token', () => {
  test('starts an instance with the body, selected headers and receive time, and runs it to completion', async () => {
    const { workflowId, token } = await hooked('Order hook');
    const before = Date.now();
    const res = await post(token, JSON.stringify({ order: 42, items: ['a', 'b'] }), {
      'user-agent': 'shop/1.0',
      'x-request-id': 'req-1',
      'x-wfb-source': 'shop',
      authorization: 'Bearer not-forwarded',
      'x-other': 'not forwarded',
    });
    expect(res.status).toBe(202);
    const { instanceId, created } = (await res.json()) as { instanceId: string; created: boolean };
    expect(created).toBe(true);

    const done = await waitFor(
      async () => (await client.request(InstanceDocument, { id: instanceId })).workflowInstance,
      (i) => ['COMPLETED', 'FAILED'].includes(i.status),
      { what: 'the webhook instance to finish' },
    );
    expect(done.status).toBe('COMPLETED');
    expect(done.workflowId).toBe(workflowId);
    const input = done.input as { body: unknown; headers: Record<string, string>; receivedAt: string };
    expect(input).toEqual({
      body: { order: 42, items: ['a', 'b'] },
      headers: { 'content-type': 'application/json', 'user-agent': 'shop/1.0', 'x-request-id': 'req-1', 'x-wfb-source': 'shop' },
      receivedAt: expect.any(String),
    });
    expect(new Date(input.receivedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(done.stepRuns.find((r) => r.stepId === 'hook')!.output).toEqual(input);
  });

  test('any JSON value is a body, and +json media types are JSON', async () => {
    const { token } = await hooked('Array hook');
    expect((await post(token, '[1,2,3]')).status).toBe(202);
    expect((await post(token, '"text"', { 'content-type': 'application/vnd.shop+json; charset=utf-8' })).status).toBe(202);
  });

  test('a repeated Idempotency-Key returns the first instance', async () => {
    const { workflowId, token } = await hooked('Idempotent hook');
    const first = await post(token, '{"n":1}', { 'idempotency-key': 'order-42' });
    const again = await post(token, '{"n":2}', { 'idempotency-key': 'order-42' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    const a = (await first.json()) as { instanceId: string; created: boolean };
    const b = (await again.json()) as { instanceId: string; created: boolean };
    expect(a.created).toBe(true);
    expect(b).toEqual({ instanceId: a.instanceId, created: false });
    expect(await total(workflowId)).toBe(1);

    expect(((await (await post(token, '{}', { 'idempotency-key': 'order-43' })).json()) as { created: boolean }).created).toBe(true);
    await expectRefused(await post(token, '{}', { 'idempotency-key': 'k'.repeat(201) }), 400, 'BAD_REQUEST');
    expect(await total(workflowId)).toBe(2);
  });

  test('refuses other content types (415), bodies over the limit (413) and malformed JSON (400), starting nothing', async () => {
    const { workflowId, token } = await hooked('Strict hook');
    await expectRefused(await post(token, '{}', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectRefused(await post(token, 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectRefused(await post(token, '{}', { 'content-type': 'application/json; charset=latin1' }), 415, 'UNSUPPORTED_MEDIA_TYPE');

    const big = JSON.stringify({ pad: 'x'.repeat(MAX_BODY) });
    await expectRefused(await post(token, big), 413, 'PAYLOAD_TOO_LARGE');

    const utf8 = Buffer.from('{"name":"café"}', 'utf8');
    const malformed: (string | Buffer)[] = [
      '{"order": 42',
      '{"order": 42}}',
      '',
      utf8.subarray(0, utf8.length - 3), // cut inside the two bytes of "é"
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), // {"a":"<0xff>"}
      Buffer.from('{"a":"x\u0000y"}', 'utf8'), // a raw NUL
      '{"a":"x\\u0000y"}', // an escaped NUL
      '{"x\\u0000":1}', // a NUL in a key
      '{"a":"\\ud800"}', // a lone surrogate
      '['.repeat(200) + ']'.repeat(200),
    ];
    for (const body of malformed) await expectRefused(await post(token, body), 400, 'MALFORMED_JSON');
    expect(await total(workflowId)).toBe(0);
  });

  test('unknown and rotated tokens are 404; other methods 405', async () => {
    await expectRefused(await post(`whk_${randomBytes(32).toString('base64url')}`, '{}'), 404, 'NOT_FOUND');
    await expectRefused(await post('not-a-token', '{}'), 404, 'NOT_FOUND');

    const { workflowId, token } = await hooked('Rotating hook');
    const { rotateWebhookToken } = await client.request(RotateWebhookTokenDocument, { workflowId });
    await expectRefused(await post(token, '{}'), 404, 'NOT_FOUND');
    expect((await post(rotateWebhookToken.token, '{}')).status).toBe(202);
    expect(await total(workflowId)).toBe(1);

    const get = await fetch(`${origin}/hooks/${rotateWebhookToken.token}`);
    expect(get.headers.get('allow')).toBe('POST');
    await expectRefused(get, 405, 'METHOD_NOT_ALLOWED');
  });

  test('409 when the workflow is a draft, archived, or not triggered by a webhook', async () => {
    const draft = await workflow('Draft hook', { publish: false });
    const { createWebhook: draftHook } = await client.request(CreateWebhookDocument, { workflowId: draft });
    await expectRefused(await post(draftHook.token, '{}'), 409, 'WORKFLOW_NOT_STARTABLE');

    const archived = await hooked('Archived hook');
    await client.request(ArchiveWorkflowDocument, { workflowId: archived.workflowId });
    await expectRefused(await post(archived.token, '{}'), 409, 'WORKFLOW_NOT_STARTABLE');

    const manual = await workflow('Manual', {
      edits: [
        { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
        { addStep: { id: 'e', type: 'end', name: 'End', after: { stepId: 't', port: 'next' } } },
      ],
    });
    const { createWebhook: manualHook } = await client.request(CreateWebhookDocument, { workflowId: manual });
    await expectRefused(await post(manualHook.token, '{}'), 409, 'WORKFLOW_NOT_STARTABLE');

    for (const id of [draft, archived.workflowId, manual]) expect(await total(id)).toBe(0);
  });
});

describe('signed webhooks', () => {
  test('a good signature starts; a tampered body, a stale or future timestamp, a missing or malformed header do not', async () => {
    const { workflowId, token, secret } = await hooked('Signed hook', true);
    expect(secret).toMatch(/^whsec_/);
    const body = JSON.stringify({ amount: 100 });
    const now = Math.floor(Date.now() / 1000);

    const refused: [string, Record<string, string>][] = [
      ['{"amount":999}', { 'x-wfb-signature': sign(secret!, body) }],
      // A minute beyond the 300 s tolerance either way: `now` is read once, and a timestamp just
      // past the limit into the future comes back within it when a second ticks before it is sent.
      [body, { 'x-wfb-signature': sign(secret!, body, now - 360) }],
      [body, { 'x-wfb-signature': sign(secret!, body, now + 360) }],
      [body, {}],
      [body, { 'x-wfb-signature': sign(secret!, body).replace('t=', 'ts=') }],
      [body, { 'x-wfb-signature': `t=${now},v1=zz` }],
      [body, { 'x-wfb-signature': sign('whsec_wrong', body) }],
      [body, { 'x-wfb-signature': `t=${now},v1=${createHmac('sha256', secret!).update(body).digest('hex')}` }],
    ];
    for (const [sent, headers] of refused) await expectRefused(await post(token, sent, headers), 401, 'INVALID_SIGNATURE');
    expect(await total(workflowId)).toBe(0);

    const ok = await post(token, body, { 'x-wfb-signature': sign(secret!, body, now - 60) });
    expect(ok.status).toBe(202);
    // A second v1 (e.g. from a sender still holding an old secret) does not spoil a matching one.
    const two = await post(token, body, { 'x-wfb-signature': `${sign(secret!, body)},v1=${'0'.repeat(64)}` });
    expect(two.status).toBe(202);
    expect(await total(workflowId)).toBe(2);

    // The signature header itself is not copied into the trigger input.
    const { instanceId } = (await ok.json()) as { instanceId: string };
    const { workflowInstance } = await client.request(InstanceDocument, { id: instanceId });
    expect(Object.keys((workflowInstance.input as { headers: object }).headers)).not.toContain('x-wfb-signature');
  });

  test('signature is checked before the JSON; turning signing off or rotating the secret takes effect at once', async () => {
    const { workflowId, token, secret } = await hooked('Resigned hook', true);
    await expectRefused(await post(token, '{oops'), 401, 'INVALID_SIGNATURE');
    await expectRefused(await post(token, '{oops', { 'x-wfb-signature': sign(secret!, '{oops') }), 400, 'MALFORMED_JSON');

    const { setWebhookSigning: rotated } = await client.request(SetWebhookSigningDocument, { workflowId, enabled: true });
    await expectRefused(await post(token, '{}', { 'x-wfb-signature': sign(secret!, '{}') }), 401, 'INVALID_SIGNATURE');
    expect((await post(token, '{}', { 'x-wfb-signature': sign(rotated.signingSecret!, '{}') })).status).toBe(202);

    const { setWebhookSigning: off } = await client.request(SetWebhookSigningDocument, { workflowId, enabled: false });
    expect(off).toMatchObject({ signingSecret: null, webhook: { signingEnabled: false } });
    expect((await post(token, '{}')).status).toBe(202);
    expect(await total(workflowId)).toBe(2);
  });
});
