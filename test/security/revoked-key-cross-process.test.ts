import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CreateApiKeyDocument, RevokeApiKeyDocument } from '../../src/sdk/operations.generated.js';
import { openRawSocket } from '../support/raw-ws.js';
import { buildServer, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { GraphQLClient, schedulerTable, startTestServer, testDatabaseUrl } from '../support/test-server.js';
import { RESPONSIVE_WITHIN_MS } from './support/responsiveness-probe.js';
import { underProbe, within } from './support/under-probe.js';

const url = testDatabaseUrl();

// Two processes cannot share the embedded database (its directory is locked to one process): the
// cross-process bus is Postgres LISTEN/NOTIFY, so this runs on real Postgres only.
describe.skipIf(!url)('a revocation on one process closes the key\'s sockets on another (real Postgres only)', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let adminKey: string;
  let victim: { id: string; secret: string };

  beforeAll(async () => {
    buildServer();
    const setup = await startTestServer({ env: { ROLE: 'api' } });
    adminKey = setup.apiKey;
    const { createApiKey } = await setup.client.request(CreateApiKeyDocument, { name: 'used on process B' });
    victim = { id: createApiKey.apiKey.id, secret: createApiKey.secret };
    await setup.stop();
    // No periodic re-check of open sockets: only the revocation's notification can close the socket in time.
    const env = { DATABASE_URL: url!, SCHEDULER_TABLE: schedulerTable, ROLE: 'api', REALTIME_POLL_MS: '600000' };
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  }, 60_000);

  afterAll(async () => {
    await a?.kill();
    await b?.kill();
  });

  test('the socket on process B is closed with 4403 when process A revokes its key', async () => {
    const socket = openRawSocket(b.url, { authorization: `Bearer ${victim.secret}` });
    expect(await socket.acked).toBe(true);
    const { result: closed, report } = await underProbe({ url: b.url, apiKey: adminKey }, async () => {
      await new GraphQLClient(a.url, adminKey).request(RevokeApiKeyDocument, { id: victim.id });
      return within(socket.closed, 'close of the socket on process B');
    });
    expect(closed.code).toBe(4403);
    expect(closed.reason).toMatch(/revoked/i);
    expect(report.failures).toEqual([]);
    expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
  });
});
