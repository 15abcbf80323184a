import { createHmac, randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ApplyEditsDocument,
  CancelInstanceDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  InstancesDocument,
  PublishWorkflowDocument,
  RedoDocument,
  UndoDocument,
  UpdateWorkflowDocument,
  WorkflowDocument,
  WorkflowVersionDocument,
  type EditInput,
  type InstanceQuery,
} from '../../src/sdk/operations.generated.js';
import { twilioParams } from '../fixtures/inbound/inbound-fixtures.js';
import { FakeHttpServer, waitFor } from '../support/fake-http-server.js';
import { schedulerTable, startTestServer, type GraphQLClient, type TestServer } from '../support/test-server.js';
import { isolatedDatabase } from './webhooks/isolated-database.js';

/**
 * wait.forMessage end to end: "ask a question; wait for the answer; if it contains 'yes' do this,
 * if no answer came do that", with signed Twilio SMS arriving before and after the timeout, the
 * reply/timeout race, and what a reply that resumes a wait does besides.
 */
type Instance = InstanceQuery['workflowInstance'];
const TWILIO_AUTH_TOKEN = 'twilio-auth-token-for-wait-tests';

let database: Awaited<ReturnType<typeof isolatedDatabase>>;
let server: TestServer;
let client: GraphQLClient;
/** Twilio's Messages API, as far as the conversation's own texts need it. */
const twilioApi = new FakeHttpServer();

beforeAll(async () => {
  const apiUrl = await twilioApi.start();
  twilioApi.respond = () => ({ status: 201, body: JSON.stringify({ sid: `SM${randomBytes(16).toString('hex')}`, status: 'queued' }), headers: { 'content-type': 'application/json' } });
  // Inbound messages reach every workspace of the database: a database of this file's own.
  database = await isolatedDatabase();
  server = await startTestServer({
    env: {
      ...database.env,
      TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
      TWILIO_AUTH_TOKEN,
      TWILIO_SMS_FROM: '+15005550006',
      TWILIO_BASE_URL: apiUrl,
      SCHEDULER_POLL_MS: '200',
    },
  });
  client = server.client;
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
  await twilioApi.stop();
});

/** Twilio's algorithm: URL, then each parameter name and value, sorted by name. */
function twilioSignature(url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  const data = names.reduce((acc, name) => acc + params.getAll(name).sort().map((v) => name + v).join(''), url);
  return createHmac('sha1', TWILIO_AUTH_TOKEN).update(data, 'utf8').digest('base64');
}

/** A signed SMS from `from`; the ids of the instances it started and resumed, from the answer's headers. */
async function sms(from: string, body: string): Promise<{ started: string[]; resumed: string[] }> {
  const params = twilioParams('twilio-sms', { sid: `SM${randomBytes(16).toString('hex')}`, body });
  params.set('From', from);
  const url = `http://localhost:${server.app.port}/inbound/twilio`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(url, params) },
    body: params.toString(),
  });
  expect(res.status).toBe(200);
  const ids = (header: string) => (res.headers.get(header) ?? '').split(',').filter(Boolean);
  return { started: ids('x-wfb-started-instances'), resumed: ids('x-wfb-resumed-instances') };
}

let numbers = 0;
/** A sender of its own per test: waits are matched by sender across the whole database. */
const newNumber = () => `+1555${String(process.pid % 1000).padStart(3, '0')}${String(++numbers).padStart(4, '0')}`;

const timeoutOf = (seconds: number) => (seconds % 3600 === 0 ? { amount: seconds / 3600, unit: 'hours' } : { amount: seconds, unit: 'seconds' });

/**
 * The conversation: a text with `keyword` starts it; it asks, waits for a reply from the sender
 * containing "yes", and confirms (received) or gives up (timedOut).
 */
async function conversation(
  keyword: string,
  options: { timeoutSeconds?: number; alsoStartWorkflows?: boolean; when?: boolean; repliesAlsoStartWorkflows?: boolean } = {},
): Promise<string> {
  const { timeoutSeconds = 3600, alsoStartWorkflows, when = true, repliesAlsoStartWorkflows } = options;
  const edits: EditInput[] = [
    { addStep: { id: 'text', type: 'trigger.incomingMessage', name: 'Texted us', config: { channel: 'sms', keyword, match: 'startsWith' } } },
    {
      addStep: {
        id: 'ask',
        type: 'sms.send',
        name: 'Ask',
        config: { to: '{{ trigger.message.from }}', text: 'Reply YES to confirm' },
        after: { stepId: 'text', port: 'next' },
      },
    },
    {
      addStep: {
        id: 'reply',
        type: 'wait.forMessage',
        name: 'Wait for the answer',
        config: {
          channel: 'sms',
          timeout: timeoutOf(timeoutSeconds),
          ...(when ? { when: { path: 'steps.reply.output.text', op: 'contains', value: 'yes', ignoreCase: true } } : {}),
          ...(alsoStartWorkflows === undefined ? {} : { alsoStartWorkflows }),
        },
        after: { stepId: 'ask', port: 'next' },
      },
    },
    {
      addStep: {
        id: 'confirm',
        type: 'sms.send',
        name: 'Confirm',
        config: { to: '{{ trigger.message.from }}', text: 'Confirmed: {{ steps.reply.output.text }}' },
        after: { stepId: 'reply', port: 'received' },
      },
    },
    { addStep: { id: 'giveUp', type: 'sms.send', name: 'Give up', config: { to: '{{ trigger.message.from }}', text: 'Maybe later' } } },
    { connectSteps: { from: 'reply', port: 'timedOut', to: 'giveUp' } },
    ...(repliesAlsoStartWorkflows === undefined ? [] : [{ updateWorkflow: { repliesAlsoStartWorkflows } }]),
  ];
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: `Conversation ${keyword}` } });
  await client.request(ApplyEditsDocument, { workflowId: createWorkflow.id, edits });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

/** A workflow every SMS starts (of `c`'s workspace). */
async function everySms(c: GraphQLClient): Promise<string> {
  const { createWorkflow } = await c.request(CreateWorkflowDocument, { input: { name: 'Every SMS' } });
  await c.request(ApplyEditsDocument, {
    workflowId: createWorkflow.id,
    edits: [
      { addStep: { id: 'text', type: 'trigger.incomingMessage', name: 'Any SMS', config: { channel: 'sms' } } },
      { addStep: { id: 'done', type: 'end', name: 'End', after: { stepId: 'text', port: 'next' } } },
    ],
  });
  await c.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  return createWorkflow.id;
}

const instanceOf = async (id: string): Promise<Instance> => (await client.request(InstanceDocument, { id })).workflowInstance;
/** An instance of this workspace, or undefined (a message starts workflows of every workspace). */
const visible = async (id: string): Promise<Instance | undefined> => {
  const { body } = await client.raw(`query($id: ID!) { workflowInstance(id: $id) { id workflowId } }`, { id });
  return body.errors ? undefined : ((body.data as { workflowInstance: Instance }).workflowInstance);
};
const until = (id: string, statuses: string[]) =>
  waitFor(() => instanceOf(id), (i) => statuses.includes(i.status), { what: `instance ${id} to reach ${statuses.join('/')}` });
const step = (i: Instance, stepId: string) => i.stepRuns.find((r) => r.stepId === stepId);
const countOf = async (c: GraphQLClient, workflowId: string) => (await c.request(InstancesDocument, { workflowId, first: 100 })).workflowInstances.totalCount;
const keyword = () => `K${randomBytes(4).toString('hex')}`;

/** Starts a conversation from `from` and waits until it waits for the reply. */
async function startConversation(workflowId: string, word: string, from: string): Promise<string> {
  const { started } = await sms(from, `${word} please`);
  for (const candidate of started) {
    if ((await visible(candidate))?.workflowId === workflowId) {
      const waiting = await until(candidate, ['WAITING']);
      expect(waiting.waitReason).toBe('MESSAGE');
      return candidate;
    }
  }
  throw new Error(`the text started no conversation (it started ${started.length} instances)`);
}

describe('the conversation', () => {
  test('a signed reply before the timeout resumes it on received; the reply is the output and starts nothing else', async () => {
    const word = keyword();
    const workflowId = await conversation(word);
    const others = await everySms(client);
    const elsewhere = await server.newWorkspace('elsewhere');
    const theirs = await everySms(elsewhere.client);
    const from = newNumber();
    const id = await startConversation(workflowId, word, from);
    const waiting = await instanceOf(id);
    expect(step(waiting, 'reply')).toMatchObject({ status: 'SCHEDULED', waitReason: 'MESSAGE', output: { channel: 'sms', from } });
    expect(await countOf(client, others)).toBe(1);

    const reply = await sms(from, 'Yes, confirmed!');
    expect(reply.resumed).toEqual([id]);
    const done = await until(id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(step(done, 'reply')).toMatchObject({ status: 'SUCCEEDED', output: { from, text: 'Yes, confirmed!', channel: 'sms', to: '+15005550006' } });
    expect(step(done, 'giveUp')?.status).toBe('SKIPPED');
    expect(done.messages.edges.map((e) => e.node.text)).toEqual(['Reply YES to confirm', 'Confirmed: Yes, confirmed!']);
    // The reply resumed a wait of this workspace: it starts none of its workflows...
    expect(await countOf(client, others)).toBe(1);
    expect(reply.started.length).toBe(1);
    // ...but another workspace, where nothing waited for it, still gets it as usual.
    expect(await countOf(elsewhere.client, theirs)).toBe(2);
  });

  test('only a reply from the contact that satisfies the condition resumes it; others go on as usual', async () => {
    const word = keyword();
    const workflowId = await conversation(word);
    const from = newNumber();
    const id = await startConversation(workflowId, word, from);

    expect((await sms(newNumber(), 'yes from someone else')).resumed).toEqual([]);
    expect((await sms(from, 'no thanks')).resumed).toEqual([]);
    expect((await instanceOf(id)).status).toBe('WAITING');
    expect((await sms(from, 'ok YES')).resumed).toEqual([id]);
    const done = await until(id, ['COMPLETED']);
    expect(step(done, 'reply')?.output).toMatchObject({ text: 'ok YES' });
  });

  test('without a reply the wait ends on timedOut, and a reply after it resumes nothing', async () => {
    const word = keyword();
    const workflowId = await conversation(word, { timeoutSeconds: 1 });
    const from = newNumber();
    const { started } = await sms(from, `${word} now`);
    const id = (await Promise.all(started.map(visible))).find((i) => i?.workflowId === workflowId)!.id;
    const done = await until(id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(step(done, 'reply')).toMatchObject({ status: 'SUCCEEDED', output: { timedOut: true, channel: 'sms', from } });
    expect(step(done, 'confirm')?.status).toBe('SKIPPED');
    expect(done.messages.edges.map((e) => e.node.text)).toEqual(['Reply YES to confirm', 'Maybe later']);
    expect((await sms(from, 'yes, too late?')).resumed).toEqual([]);
  });

  test('a reply racing the timeout: every wait ends on exactly one port, received exactly when the reply resumed it', async () => {
    const word = keyword();
    const workflowId = await conversation(word, { timeoutSeconds: 2, when: false });
    const runs = 12;
    const senders = Array.from({ length: runs }, () => newNumber());
    const ids = await Promise.all(senders.map((from) => startConversation(workflowId, word, from)));
    const outcomes = await Promise.all(
      ids.map(async (id, n) => {
        const due = new Date(step(await instanceOf(id), 'reply')!.dueAt).getTime();
        const offset = -1_000 + Math.round((n * 2_500) / (runs - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due + offset - Date.now())));
        const sendStart = Date.now();
        const reply = await sms(senders[n]!, `answer ${n}`);
        return { id, n, due, sendStart, sendEnd: Date.now(), reply, done: await until(id, ['COMPLETED', 'FAILED']) };
      }),
    );
    for (const { id, n, due, sendStart, sendEnd, reply, done } of outcomes) {
      expect(done.status).toBe('COMPLETED');
      const ports = [step(done, 'confirm')!.status, step(done, 'giveUp')!.status];
      expect([...ports].sort(), `instance ${n}`).toEqual(['SKIPPED', 'SUCCEEDED']);
      const received = ports[0] === 'SUCCEEDED';
      expect(reply.resumed.includes(id), `instance ${n}`).toBe(received);
      expect(done.messages.edges, `instance ${n}`).toHaveLength(2);
      if (sendEnd < due - 50) expect(received, `instance ${n}, replied before its timeout`).toBe(true);
      if (sendStart > due + 1_000) expect(received, `instance ${n}, replied after its timeout`).toBe(false);
    }
    const resumed = outcomes.filter((o) => o.reply.resumed.length > 0).length;
    expect(resumed, `${resumed} of ${runs} received`).toBeGreaterThan(0);
    expect(resumed, `${resumed} of ${runs} received`).toBeLessThan(runs);
  }, 90_000);

  test.skipIf(!database?.env.DATABASE_URL && !process.env.DATABASE_URL)(
    'a woken wait starts at once on the announcement, before its job can even be moved (job table locked)',
    async () => {
      const url = database.env.DATABASE_URL!;
      const word = keyword();
      const workflowId = await conversation(word);
      const from = newNumber();
      const id = await startConversation(workflowId, word, from);
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        let answered: Promise<{ resumed: string[] }> | undefined;
        await sql.begin(async (tx) => {
          // Nothing can write a job meanwhile: neither the reply's move of the wait's job nor a worker's lock of it.
          await tx.unsafe(`lock table ${schedulerTable} in exclusive mode`);
          answered = sms(from, 'yes please');
          const done = await until(id, ['COMPLETED', 'FAILED']);
          expect(done.status).toBe('COMPLETED');
          expect(step(done, 'confirm')?.status).toBe('SUCCEEDED');
        });
        // The answer waited for the job's move, which the lock held up.
        expect((await answered!).resumed).toEqual([id]);
      } finally {
        await sql.end();
      }
    },
  );

  test('with alsoStartWorkflows the reply both resumes the wait and starts the workflows it triggers', async () => {
    const word = keyword();
    const workflowId = await conversation(word, { alsoStartWorkflows: true });
    const others = await everySms(client);
    const from = newNumber();
    const id = await startConversation(workflowId, word, from);
    const before = await countOf(client, others);
    const reply = await sms(from, 'yes');
    expect(reply.resumed).toEqual([id]);
    expect(await countOf(client, others)).toBe(before + 1);
    await until(id, ['COMPLETED']);
  });

  test('cancel while waiting: the reply resumes nothing', async () => {
    const word = keyword();
    const workflowId = await conversation(word);
    const from = newNumber();
    const id = await startConversation(workflowId, word, from);
    expect((await client.request(CancelInstanceDocument, { id })).cancelInstance.status).toBe('CANCELLED');
    expect((await sms(from, 'yes')).resumed).toEqual([]);
    expect(step(await instanceOf(id), 'reply')?.status).toBe('CANCELLED');
  });
});

describe("the workflow setting repliesAlsoStartWorkflows", () => {
  const workflowOf = async (id: string) => (await client.request(WorkflowDocument, { id, first: 1 })).workflow;

  test('off by default: a new workflow shows it false, and its reply only resumes the wait', async () => {
    const word = keyword();
    const workflowId = await conversation(word);
    expect(await workflowOf(workflowId)).toMatchObject({ repliesAlsoStartWorkflows: false });
    const others = await everySms(client);
    const from = newNumber();
    const id = await startConversation(workflowId, word, from);
    const before = await countOf(client, others);
    const reply = await sms(from, 'yes');
    expect(reply.resumed).toEqual([id]);
    expect(await countOf(client, others)).toBe(before);
    await until(id, ['COMPLETED']);
  });

  test("on, with the step's alsoStartWorkflows off: the reply both resumes the wait and starts the workflows it triggers", async () => {
    const word = keyword();
    const workflowId = await conversation(word, { repliesAlsoStartWorkflows: true, alsoStartWorkflows: false });
    expect(await workflowOf(workflowId)).toMatchObject({ repliesAlsoStartWorkflows: true });
    const others = await everySms(client);
    const from = newNumber();
    const id = await startConversation(workflowId, word, from);
    const before = await countOf(client, others);
    const reply = await sms(from, 'yes');
    expect(reply.resumed).toEqual([id]);
    expect(await countOf(client, others)).toBe(before + 1);
    const done = await until(id, ['COMPLETED']);
    expect(step(done, 'confirm')?.status).toBe('SUCCEEDED');
  });

  test('setting it is one undoable, redoable edit of the draft', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Settings' } });
    const workflowId = createWorkflow.id;
    const set = await client.request(UpdateWorkflowDocument, { id: workflowId, input: { repliesAlsoStartWorkflows: true }, expectedRevision: 0 });
    expect(set.updateWorkflow).toMatchObject({
      label: 'Let replies to waits also start workflows',
      canUndo: true,
      canRedo: false,
      workflow: { repliesAlsoStartWorkflows: true, draftRevision: 1 },
    });
    // Setting it again changes nothing and makes no history entry.
    expect((await client.request(UpdateWorkflowDocument, { id: workflowId, input: { repliesAlsoStartWorkflows: true } })).updateWorkflow).toMatchObject({
      label: null,
      workflow: { draftRevision: 1 },
    });
    const undone = await client.request(UndoDocument, { workflowId, expectedRevision: 1 });
    expect(undone.undo).toMatchObject({ canUndo: false, canRedo: true, workflow: { repliesAlsoStartWorkflows: false, draftRevision: 2 } });
    expect(await workflowOf(workflowId)).toMatchObject({ repliesAlsoStartWorkflows: false });
    const redone = await client.request(RedoDocument, { workflowId, expectedRevision: 2 });
    expect(redone.redo).toMatchObject({ label: 'Let replies to waits also start workflows', canUndo: true, canRedo: false, workflow: { repliesAlsoStartWorkflows: true } });
    expect(await workflowOf(workflowId)).toMatchObject({ repliesAlsoStartWorkflows: true, draftRevision: 3 });
  });

  test('null and non-boolean values are refused with a coded error, and nothing changes', async () => {
    const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Picky settings' } });
    const workflowId = createWorkflow.id;
    const refused = await client.expectError(UpdateWorkflowDocument, { id: workflowId, input: { repliesAlsoStartWorkflows: null } });
    expect(refused.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'repliesAlsoStartWorkflows' });
    const inBatch = await client.expectError(ApplyEditsDocument, {
      workflowId,
      edits: [{ updateWorkflow: { name: 'Renamed' } }, { updateWorkflow: { repliesAlsoStartWorkflows: null } }],
    });
    expect(inBatch.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'repliesAlsoStartWorkflows', commandIndex: 1 });
    const { body } = await client.raw(`mutation($id: ID!) { updateWorkflow(id: $id, input: { repliesAlsoStartWorkflows: "yes" }) { label } }`, { id: workflowId });
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const { body: asVariable } = await client.raw(
      `mutation($id: ID!, $input: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $input) { label } }`,
      { id: workflowId, input: { repliesAlsoStartWorkflows: 'yes' } },
    );
    expect(asVariable.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await workflowOf(workflowId)).toMatchObject({ name: 'Picky settings', repliesAlsoStartWorkflows: false, draftRevision: 0 });
  });

  test("an instance uses its pinned version's setting, whatever the draft and newer versions say", async () => {
    const word = keyword();
    const workflowId = await conversation(word, { repliesAlsoStartWorkflows: true });
    const others = await everySms(client);
    const early = newNumber();
    const pinned = await startConversation(workflowId, word, early);
    // The draft turns it off and is published as version 2; the waiting instance stays on version 1.
    await client.request(UpdateWorkflowDocument, { id: workflowId, input: { repliesAlsoStartWorkflows: false } });
    const published = await client.request(PublishWorkflowDocument, { workflowId });
    expect(published.publishWorkflow.version).toMatchObject({ version: 2, repliesAlsoStartWorkflows: false });
    const versionOf = async (version: number) => (await client.request(WorkflowVersionDocument, { workflowId, version })).workflowVersion;
    expect(await versionOf(1)).toMatchObject({ version: 1, repliesAlsoStartWorkflows: true });
    expect(await versionOf(2)).toMatchObject({ version: 2, repliesAlsoStartWorkflows: false });
    const late = newNumber();
    const current = await startConversation(workflowId, word, late);
    expect((await instanceOf(pinned)).version).toBe(1);
    expect((await instanceOf(current)).version).toBe(2);

    let before = await countOf(client, others);
    const toPinned = await sms(early, 'yes');
    expect(toPinned.resumed).toEqual([pinned]);
    expect(await countOf(client, others)).toBe(before + 1);

    before = await countOf(client, others);
    const toCurrent = await sms(late, 'yes');
    expect(toCurrent.resumed).toEqual([current]);
    expect(await countOf(client, others)).toBe(before);
    await Promise.all([until(pinned, ['COMPLETED']), until(current, ['COMPLETED'])]);
  });
});
