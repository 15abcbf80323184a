import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ApplyEditsDocument,
  ArchiveWorkflowDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  InstancesDocument,
  PublishWorkflowDocument,
  UpdateStepDocument,
} from '../../../src/sdk/operations.generated.js';
import { metaInstagramBody, metaWhatsappBody, twilioParams } from '../../fixtures/inbound/inbound-fixtures.js';
import { waitFor } from '../../support/fake-http-server.js';
import { startTestServer, type GraphQLClient, type TestServer } from '../../support/test-server.js';
import { isolatedDatabase } from './isolated-database.js';

const META_APP_SECRET = 'meta-app-secret-for-tests';
const META_VERIFY_TOKEN = 'verify-me';
const TWILIO_AUTH_TOKEN = 'twilio-auth-token-for-tests';

let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let server: TestServer;
let client: GraphQLClient;
let origin: string;

beforeAll(async () => {
  database = await isolatedDatabase();
  server = await startTestServer({
    env: {
      ...database.env,
      META_APP_SECRET,
      META_VERIFY_TOKEN,
      TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
      TWILIO_AUTH_TOKEN,
    },
  });
  client = server.client;
  origin = new URL(server.url).origin;
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

const unique = (prefix: string) => `${prefix}${randomBytes(8).toString('hex')}`;

/** A published workflow started by incoming messages with this trigger config. */
async function messageWorkflow(
  name: string,
  config: Record<string, unknown>,
  options: { client?: GraphQLClient; publish?: boolean } = {},
): Promise<string> {
  const c = options.client ?? client;
  const { createWorkflow } = await c.request(CreateWorkflowDocument, { input: { name } });
  await c.request(ApplyEditsDocument, {
    workflowId: createWorkflow.id,
    edits: [
      { addStep: { id: 'incoming', type: 'trigger.incomingMessage', name: 'Message', config } },
      { addStep: { id: 'done', type: 'end', name: 'End', after: { stepId: 'incoming', port: 'next' } } },
    ],
  });
  if (options.publish ?? true) await c.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const instancesOf = async (workflowId: string, c: GraphQLClient = client) =>
  (await c.request(InstancesDocument, { workflowId, first: 50 })).workflowInstances.edges.map((e) => e.node);

/** Ids of the instances of a workflow that a message started, found as the README says: by its id in the trigger input. */
const startedBy = async (workflowId: string, messageId: string, c: GraphQLClient = client) =>
  (await c.request(InstancesDocument, { workflowId, triggerInput: { path: 'message.id', equals: messageId }, first: 50 })).workflowInstances.edges.map(
    (e) => e.node.id,
  );

async function finished(id: string, c: GraphQLClient = client) {
  return waitFor(
    async () => (await c.request(InstanceDocument, { id })).workflowInstance,
    (i) => ['COMPLETED', 'FAILED'].includes(i.status),
    { what: `instance ${id} to finish` },
  );
}

const metaSignature = (body: string, secret = META_APP_SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * A Meta delivery is answered before it is processed: its answer, once the server has processed
 * it (read from the delivery's row, so a test asserting that nothing started does not look early).
 */
async function processed(res: Response, app: TestServer['app'] = server.app): Promise<Record<string, unknown>> {
  expect(res.status).toBe(200);
  const answer = (await res.json()) as { deliveryId: string };
  await waitFor(
    async () => (await app.database.sql<{ done: boolean }[]>`select processed_at is not null as done from inbound_deliveries where id = ${answer.deliveryId}`)[0]?.done,
    (done) => done === true,
    { what: `delivery ${answer.deliveryId} to be processed` },
  );
  return answer;
}

function postMeta(body: string, headers: Record<string, string> = {}, base = origin) {
  return fetch(`${base}/inbound/meta`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

/** Twilio's algorithm, as its docs give it: URL, then each parameter name and value, sorted by name. */
function twilioSignature(url: string, params: URLSearchParams, token = TWILIO_AUTH_TOKEN): string {
  const names = [...new Set(params.keys())].sort();
  const data = names.reduce((acc, name) => acc + params.getAll(name).sort().map((v) => name + v).join(''), url);
  return createHmac('sha1', token).update(data, 'utf8').digest('base64');
}

function postTwilio(params: URLSearchParams, signature: string | undefined) {
  return fetch(`${origin}/inbound/twilio`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature ? { 'x-twilio-signature': signature } : {}),
    },
    body: params.toString(),
  });
}

/** The URL Twilio would have called: PUBLIC_BASE_URL, which defaults to http://localhost:<port>. */
const twilioUrl = () => `http://localhost:${server.app.port}/inbound/twilio`;

describe('Meta (Instagram and WhatsApp)', () => {
  let prices: string;
  let refunds: string;
  let draft: string;
  let otherWorkspacePrices: string;
  let other: Awaited<ReturnType<TestServer['newWorkspace']>>;

  beforeAll(async () => {
    prices = await messageWorkflow('IG prices', { channel: 'instagram', keyword: 'price' });
    refunds = await messageWorkflow('IG refunds', { channel: 'instagram', keyword: 'refund', match: 'startsWith' });
    draft = await messageWorkflow('IG draft', { channel: 'instagram' }, { publish: false });
    other = await server.newWorkspace('another tenant');
    otherWorkspacePrices = await messageWorkflow('Their IG prices', { channel: 'instagram', keyword: 'PRICE' }, { client: other.client });
  });

  test('a signed Instagram message starts every matching workflow once, with the message as trigger input', async () => {
    const mid = unique('mid.');
    const body = metaInstagramBody({ mid, text: 'Hi! What is the PRICE of the blue one?' });
    const res = await postMeta(body, { 'x-hub-signature-256': metaSignature(body) });
    const answer = await processed(res);
    expect(answer).toEqual({ deliveryId: expect.any(String), duplicate: false, messages: 1, ignored: 0 });
    // Routing is deployment-wide: the other workspace's matching workflow starts too.

    const [started] = await instancesOf(prices);
    // The answer names no instances; the message id finds them, in each workflow it started.
    expect(await startedBy(prices, mid)).toEqual([started!.id]);
    expect(await startedBy(otherWorkspacePrices, mid, other.client)).toHaveLength(1);
    expect(await startedBy(refunds, mid)).toEqual([]);
    const done = await finished(started!.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.input).toEqual({
      message: {
        id: mid,
        from: '6795048337232331',
        to: '17841400008460056',
        text: 'Hi! What is the PRICE of the blue one?',
        channel: 'instagram',
        receivedAt: expect.any(String),
      },
    });
    expect(await instancesOf(otherWorkspacePrices, other.client)).toHaveLength(1);
    expect(await instancesOf(refunds)).toHaveLength(0);
    expect(await instancesOf(draft)).toHaveLength(0);

    // Meta redelivers the same payload: nothing new starts.
    const again = await postMeta(body, { 'x-hub-signature-256': metaSignature(body) });
    expect(await processed(again)).toEqual({ ...answer, duplicate: true });
    expect(await instancesOf(prices)).toHaveLength(1);
    expect(await instancesOf(otherWorkspacePrices, other.client)).toHaveLength(1);
  });

  test('a bad or missing signature is 401 and starts nothing', async () => {
    const body = metaInstagramBody({ mid: unique('mid.'), text: 'price please' });
    const before = (await instancesOf(prices)).length;
    const attempts: Record<string, string>[] = [
      {},
      { 'x-hub-signature-256': metaSignature(body, 'wrong secret') },
      { 'x-hub-signature-256': metaSignature(body).replace('sha256=', 'sha1=') },
      { 'x-hub-signature-256': metaSignature(body.replace('price', 'PRICE')) },
    ];
    for (const headers of attempts) {
      const res = await postMeta(body, headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: { code: 'INVALID_SIGNATURE', message: expect.any(String) } });
    }
    expect(await instancesOf(prices)).toHaveLength(before);
  });

  test('a newly published version changes which messages start the workflow; archived workflows never start', async () => {
    const workflowId = await messageWorkflow('IG changing', { channel: 'instagram', keyword: 'zebra' });
    const send = async (text: string) => {
      const body = metaInstagramBody({ mid: unique('mid.'), text });
      await processed(await postMeta(body, { 'x-hub-signature-256': metaSignature(body) }));
    };
    await send('zebra crossing');
    expect(await instancesOf(workflowId)).toHaveLength(1);

    await client.request(UpdateStepDocument, { workflowId, input: { stepId: 'incoming', config: { channel: 'instagram', keyword: 'giraffe' } } });
    await send('zebra again'); // the draft changed, the published version did not
    expect(await instancesOf(workflowId)).toHaveLength(2);
    await client.request(PublishWorkflowDocument, { workflowId });
    await send('zebra once more');
    await send('a giraffe!');
    expect(await instancesOf(workflowId)).toHaveLength(3);

    await client.request(ArchiveWorkflowDocument, { workflowId });
    await send('giraffe after archiving');
    expect(await instancesOf(workflowId)).toHaveLength(3);
  });

  test('a WhatsApp Cloud API message starts WhatsApp workflows with E.164 addresses; other events are ignored', async () => {
    const workflowId = await messageWorkflow('WA any', { channel: 'whatsapp' });
    const id = unique('wamid.');
    const body = metaWhatsappBody({ id });
    const res = await postMeta(body, { 'x-hub-signature-256': metaSignature(body) });
    expect(await processed(res)).toMatchObject({ duplicate: false, messages: 1, ignored: 0 });
    const [instance] = await instancesOf(workflowId);
    const done = await finished(instance!.id);
    expect(done.input).toMatchObject({
      message: { id, from: '+16505551234', to: '+15550783881', text: 'Does it come in another color?', channel: 'whatsapp' },
    });

    const statuses = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: '1', changes: [{ field: 'messages', value: { statuses: [{ id: 'wamid.x', status: 'delivered' }] } }] }],
    });
    const ignored = await postMeta(statuses, { 'x-hub-signature-256': metaSignature(statuses) });
    expect(await processed(ignored)).toMatchObject({ messages: 0, ignored: 0 });
    const echo = JSON.stringify({
      object: 'instagram',
      entry: [{ messaging: [{ sender: { id: '1' }, recipient: { id: '2' }, message: { mid: unique('m'), text: 'price', is_echo: true } }] }],
    });
    expect(await processed(await postMeta(echo, { 'x-hub-signature-256': metaSignature(echo) }))).toMatchObject({ messages: 0, ignored: 1 });
    expect(await instancesOf(workflowId)).toHaveLength(1);
  });

  test('malformed deliveries are refused', async () => {
    const notJson = '{"object":';
    expect((await postMeta(notJson, { 'x-hub-signature-256': metaSignature(notJson) })).status).toBe(400);
    const notMeta = '[1,2]';
    expect((await postMeta(notMeta, { 'x-hub-signature-256': metaSignature(notMeta) })).status).toBe(400);
    const form = await fetch(`${origin}/inbound/meta`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(form.status).toBe(415);
  });

  test('the GET verification handshake echoes the challenge for the right token only', async () => {
    const handshake = (query: Record<string, string>) => fetch(`${origin}/inbound/meta?${new URLSearchParams(query)}`);
    const ok = await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': META_VERIFY_TOKEN, 'hub.challenge': '1158201444' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe('1158201444');

    const refused: Record<string, string>[] = [
      { 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': '1' },
      { 'hub.mode': 'unsubscribe', 'hub.verify_token': META_VERIFY_TOKEN, 'hub.challenge': '1' },
      { 'hub.mode': 'subscribe', 'hub.challenge': '1' },
    ];
    for (const query of refused) {
      const res = await handshake(query);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
    }
  });
});

describe('Twilio (SMS and WhatsApp)', () => {
  test('a signed SMS starts the matching sms workflow and gets empty TwiML; redelivery starts nothing', async () => {
    const join = await messageWorkflow('SMS join', { channel: 'sms', keyword: 'join' });
    const stop = await messageWorkflow('SMS stop', { channel: 'sms', keyword: 'stop', match: 'equals' });
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const params = twilioParams('twilio-sms', { sid });
    const res = await postTwilio(params, twilioSignature(twilioUrl(), params));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await res.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');

    const [instance] = await instancesOf(join);
    // The answer names what the message started; the TwiML stays empty. The message id finds the same.
    expect(res.headers.get('x-wfb-started-count')).toBe('1');
    expect(res.headers.get('x-wfb-started-instances')).toBe(instance!.id);
    expect(await startedBy(join, sid)).toEqual([instance!.id]);
    expect(await startedBy(stop, sid)).toEqual([]);
    const done = await finished(instance!.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.input).toEqual({
      message: {
        id: sid,
        from: '+14155552671',
        to: '+15005550006',
        text: 'Hello, I would like to JOIN the list',
        channel: 'sms',
        receivedAt: expect.any(String),
      },
    });
    expect(await instancesOf(stop)).toHaveLength(0);

    // Twilio's retry is answered alike, and names nothing: it started nothing.
    const again = await postTwilio(params, twilioSignature(twilioUrl(), params));
    expect(again.status).toBe(200);
    expect(again.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await again.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(again.headers.get('x-wfb-started-count')).toBeNull();
    expect(again.headers.get('x-wfb-started-instances')).toBeNull();
    expect(await instancesOf(join)).toHaveLength(1);
  });

  test('a message that starts several workflows names each; a delivery that starts none says 0', async () => {
    const keyword = unique('kw');
    const workflows = [
      await messageWorkflow('SMS many 1', { channel: 'sms', keyword }),
      await messageWorkflow('SMS many 2', { channel: 'sms', keyword }),
      await messageWorkflow('SMS many 3', { channel: 'sms', keyword }),
    ];
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const params = twilioParams('twilio-sms', { sid, body: `about ${keyword}` });
    const res = await postTwilio(params, twilioSignature(twilioUrl(), params));
    expect(res.status).toBe(200);
    // Routing is deployment-wide: other tests' SMS workflows without a keyword start too.
    const named = res.headers.get('x-wfb-started-instances')!.split(',');
    expect(res.headers.get('x-wfb-started-count')).toBe(String(named.length));
    const found = (await Promise.all(workflows.map((w) => startedBy(w, sid)))).flat();
    expect(found).toHaveLength(3);
    expect(named).toEqual(expect.arrayContaining(found));
    for (const id of named) expect((await client.request(InstanceDocument, { id })).workflowInstance.input).toMatchObject({ message: { id: sid } });

    // Media without text is no message we handle: it starts nothing, and says so.
    const media = twilioParams('twilio-sms', { sid: `SM${randomBytes(16).toString('hex')}`, body: '' });
    const quiet = await postTwilio(media, twilioSignature(twilioUrl(), media));
    expect(quiet.status).toBe(200);
    expect(quiet.headers.get('x-wfb-started-count')).toBe('0');
    expect(quiet.headers.get('x-wfb-started-instances')).toBeNull();
  });

  test('a bad or missing signature is 401 and starts nothing', async () => {
    const workflowId = await messageWorkflow('SMS any', { channel: 'sms' });
    const params = twilioParams('twilio-sms', { sid: `SM${randomBytes(16).toString('hex')}` });
    const signedElsewhere = twilioSignature('https://elsewhere.example/inbound/twilio', params);
    const tampered = new URLSearchParams(params);
    tampered.set('Body', 'something else');
    for (const [sent, signature] of [
      [params, undefined],
      [params, twilioSignature(twilioUrl(), params, 'wrong token')],
      [params, signedElsewhere],
      [tampered, twilioSignature(twilioUrl(), params)],
    ] as const) {
      const res = await postTwilio(sent, signature);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: { code: 'INVALID_SIGNATURE', message: expect.any(String) } });
    }
    expect(await instancesOf(workflowId)).toHaveLength(0);
  });

  test('a WhatsApp message through Twilio starts WhatsApp workflows, not SMS ones', async () => {
    const whatsapp = await messageWorkflow('WA news', { channel: 'whatsapp', keyword: 'news' });
    const sms = await messageWorkflow('SMS news', { channel: 'sms', keyword: 'news' });
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const params = twilioParams('twilio-whatsapp', { sid });
    expect((await postTwilio(params, twilioSignature(twilioUrl(), params))).status).toBe(200);
    const [instance] = await instancesOf(whatsapp);
    expect((await finished(instance!.id)).input).toMatchObject({
      message: { id: sid, from: '+14155552671', to: '+14155238886', text: 'Hola! Any news?', channel: 'whatsapp' },
    });
    expect(await instancesOf(sms)).toHaveLength(0);
  });
});

describe('without provider secrets', () => {
  // Starts two servers of its own: on the embedded database each migrates a fresh directory.
  test('deliveries are refused (503) unless INBOUND_ALLOW_UNSIGNED is set; the handshake is refused (403)', { timeout: 90_000 }, async () => {
    const bare = await startTestServer({ env: { ...database.env } });
    try {
      const base = new URL(bare.url).origin;
      const body = metaInstagramBody({ mid: unique('mid.') });
      const meta = await postMeta(body, { 'x-hub-signature-256': metaSignature(body) }, base);
      expect(meta.status).toBe(503);
      expect(await meta.json()).toEqual({ error: { code: 'NOT_CONFIGURED', message: expect.any(String) } });
      const twilio = await fetch(`${base}/inbound/twilio`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: twilioParams('twilio-sms', { sid: 'SM1' }).toString(),
      });
      expect(twilio.status).toBe(503);
      const handshake = await fetch(`${base}/inbound/meta?hub.mode=subscribe&hub.verify_token=&hub.challenge=1`);
      expect(handshake.status).toBe(403);
    } finally {
      await bare.stop();
    }

    const open = await startTestServer({ env: { ...database.env, INBOUND_ALLOW_UNSIGNED: 'true' } });
    try {
      const workflowId = await messageWorkflow('Unsigned IG', { channel: 'instagram', keyword: 'unsigned-ok' }, { client: open.client });
      const body = metaInstagramBody({ mid: unique('mid.'), text: 'unsigned-ok' });
      await processed(await postMeta(body, {}, new URL(open.url).origin), open.app);
      expect(await instancesOf(workflowId, open.client)).toHaveLength(1);
    } finally {
      await open.stop();
    }
  });
});
