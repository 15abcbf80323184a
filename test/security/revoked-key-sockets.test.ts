import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ApiKeysDocument,
  ApplyEditsDocument,
  CreateApiKeyDocument,
  CreateWorkflowDocument,
  InstanceDocument,
  PublishWorkflowDocument,
  RevokeApiKeyDocument,
  StartWorkflowDocument,
} from '../../src/sdk/operations.generated.js';
import { waitFor } from '../support/fake-http-server.js';
import { codesOf, openRawSocket, type RawGraphQLSocket } from '../support/raw-ws.js';
import { startTestServer, testDatabaseUrl, type TestServer } from '../support/test-server.js';
import { RESPONSIVE_WITHIN_MS } from './support/responsiveness-probe.js';
import { underProbe, within } from './support/under-probe.js';

const REPLAY = `subscription($id: ID!) { workflowInstanceEvents(workflowId: $id, since: "0") { cursor event { seq } } }`;
const CREATE_KEY = `mutation { createApiKey(name: "minted by a revoked key") { secret } }`;
const LIVE = `subscription($id: ID!) { workflowInstanceEvents(workflowId: $id) { cursor } }`;

/** A published workflow with one finished run, so `since: "0"` has history to replay. */
async function workflowWithHistory(server: TestServer): Promise<string> {
  const { client } = server;
  const { createWorkflow } = await client.request(CreateWorkflowDocument, { input: { name: 'Revocation' } });
  await client.request(ApplyEditsDocument, {
    workflowId: createWorkflow.id,
    edits: [
      { addStep: { id: 't', type: 'trigger.manual', name: 'Start' } },
      { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '+1', text: 'hi' }, after: { stepId: 't', port: 'next' } } },
    ],
  });
  await client.request(PublishWorkflowDocument, { workflowId: createWorkflow.id });
  const { startWorkflow } = await client.request(StartWorkflowDocument, { workflowId: createWorkflow.id, input: {} });
  await waitFor(
    async () => (await client.request(InstanceDocument, { id: startWorkflow.instance.id })).workflowInstance.status,
    (s) => s === 'COMPLETED',
    { what: 'the run to complete' },
  );
  return createWorkflow.id;
}

async function newKey(server: TestServer, name: string): Promise<{ id: string; secret: string }> {
  const { createApiKey } = await server.client.request(CreateApiKeyDocument, { name });
  return { id: createApiKey.apiKey.id, secret: createApiKey.secret };
}

async function ackedSocket(server: TestServer, secret: string): Promise<RawGraphQLSocket> {
  const socket = openRawSocket(server.url, { authorization: `Bearer ${secret}` });
  expect(await socket.acked).toBe(true);
  return socket;
}

const keyCount = async (server: TestServer) => (await server.client.request(ApiKeysDocument)).apiKeys.length;

describe('a revoked API key can do nothing more over a WebSocket it already opened', () => {
  let server: TestServer;
  let workflowId: string;
  beforeAll(async () => {
    // No periodic re-check here: what closes the sockets in these tests is the revocation itself.
    server = await startTestServer({ env: { REALTIME_POLL_MS: '600000' } });
    workflowId = await workflowWithHistory(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('revoking the key closes its open sockets with 4403 at once, and nothing sent on them afterwards runs', async () => {
    const key = await newKey(server, 'to be revoked');
    const sockets = [await ackedSocket(server, key.secret), await ackedSocket(server, key.secret)];
    // The key works on its sockets before the revocation: a replay answers with history.
    const before = await sockets[0]!.operation(REPLAY, { id: workflowId });
    expect(before.type).toBe('next');
    void sockets[1]!.operation(LIVE, { id: workflowId });
    const keysBefore = await keyCount(server);

    const { result: closes, report } = await underProbe(server, async () => {
      await server.client.request(RevokeApiKeyDocument, { id: key.id });
      // What the holder of the revoked key tries once the revocation is acknowledged.
      const attempts = await Promise.all(
        sockets.flatMap((s) => [s.operation(REPLAY, { id: workflowId }), s.operation(CREATE_KEY), s.operation(`{ workspace { id } }`)]),
      );
      expect(attempts.map((a) => (a.type === 'next' && a.payload.data ? 'answered with data' : 'refused'))).toEqual(attempts.map(() => 'refused'));
      return Promise.all(sockets.map((s) => within(s.closed, "the revoked key's socket to close")));
    });
    expect(closes.map((c) => c.code)).toEqual([4403, 4403]);
    expect(closes[0]!.reason).toMatch(/revoked/i);
    expect(await keyCount(server)).toBe(keysBefore);
    // A new socket with the key is refused at connection_init, as before.
    const again = openRawSocket(server.url, { authorization: `Bearer ${key.secret}` });
    expect(await again.acked).toBe(false);
    expect((await again.closed).code).toBe(4403);
    expect(report.failures).toEqual([]);
    expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
  });

  test('every operation on a socket re-checks its key: revoked with no notification reaching the socket, the next operation is refused and the socket closed', async () => {
    const key = await newKey(server, 'revoked behind the bus');
    const socket = await ackedSocket(server, key.secret);
    const keysBefore = await keyCount(server);
    // Revoked in the database only, as another process whose notification is lost would leave it.
    await server.app.database.sql`update api_keys set revoked_at = now() where id = ${key.id}`;

    const { result: closed, report } = await underProbe(server, async () => {
      // Refused with UNAUTHENTICATED, or the socket is closed under them: never data.
      const outcomes = [await socket.operation(CREATE_KEY), await socket.operation(REPLAY, { id: workflowId })];
      const refused = outcomes.map((o) => codesOf(o).some((c) => c === 'UNAUTHENTICATED' || c === 'close:4403'));
      expect(refused, JSON.stringify(outcomes).slice(0, 300)).toEqual([true, true]);
      return within(socket.closed, 'the socket to close');
    });
    expect(closed.code).toBe(4403);
    expect(await keyCount(server)).toBe(keysBefore);
    expect(report.failures).toEqual([]);
    expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
  });
});

describe('a socket whose key was revoked while no notification reached it', () => {
  let server: TestServer;
  let workflowId: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { REALTIME_POLL_MS: '200' } });
    workflowId = await workflowWithHistory(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('is closed with 4403 by the periodic re-check of open sockets, without sending anything', async () => {
    const key = await newKey(server, 'idle subscriber');
    const socket = await ackedSocket(server, key.secret);
    void socket.operation(LIVE, { id: workflowId });
    const { result: closed, report } = await underProbe(server, async () => {
      await server.app.database.sql`update api_keys set revoked_at = now() where id = ${key.id}`;
      return within(socket.closed, 'the periodic re-check to close the socket');
    });
    expect(closed.code).toBe(4403);
    expect(report.failures).toEqual([]);
    expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
  });
});

// An outside connection holds a row lock to keep a mutation in flight; the embedded database runs
// every connection in one session, where such a lock would stop the whole server.
describe.skipIf(!testDatabaseUrl())('a mutation in flight on a socket when its key is revoked (real Postgres only)', () => {
  let server: TestServer;
  let sql: postgres.Sql;
  beforeAll(async () => {
    server = await startTestServer({ env: { REALTIME_POLL_MS: '600000' } });
    sql = postgres(testDatabaseUrl()!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await server?.stop();
  });

  test('completes before the revocation is answered, not after it', async () => {
    const { createWorkflow } = await server.client.request(CreateWorkflowDocument, { input: { name: 'Locked' } });
    const key = await newKey(server, 'mid-mutation');
    const socket = await ackedSocket(server, key.secret);
    const order: string[] = [];

    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked: () => void = () => {};
    const lockHeld = new Promise<void>((resolve) => (locked = resolve));
    const holder = sql.begin(async (tx) => {
      await tx`select id from workflows where id = ${createWorkflow.id} for update`;
      locked();
      await released;
      order.push('lock released');
    });
    await lockHeld;
    void socket.operation(`mutation($id: ID!) { updateWorkflow(id: $id, input: { name: "renamed mid-revocation" }) { label } }`, {
      id: createWorkflow.id,
    });
    await waitFor(
      async () => (await sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%for update%'`)[0]!.n as number,
      (n) => n > 0,
      { what: 'the mutation to wait for the row lock' },
    );

    const revoked = server.client.request(RevokeApiKeyDocument, { id: key.id }).then(() => order.push('revocation answered'));
    // The socket is closed at once, the mutation still running on it.
    expect((await within(socket.closed, 'the socket to close')).code).toBe(4403);
    // Hold the lock until the revocation is answered or a second has passed: answered while the
    // mutation is still blocked would be the revocation not waiting for it.
    await Promise.race([revoked, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    release();
    await holder;
    await revoked;

    expect(order).toEqual(['lock released', 'revocation answered']);
    const [row] = await sql`select name from workflows where id = ${createWorkflow.id}`;
    expect(row!.name).toBe('renamed mid-revocation');
  });
});
