import { afterAll, beforeAll, expect, test } from 'vitest';
import { CreateApiKeyDocument } from '../../src/sdk/operations.generated.js';
import { waitFor } from '../support/fake-http-server.js';
import { openRawSocket } from '../support/raw-ws.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { RESPONSIVE_WITHIN_MS } from './support/responsiveness-probe.js';
import { initAndTerminateStorm } from './support/attack-worker.js';
import { underProbe } from './support/under-probe.js';

const SOCKETS_PER_KEY = 10;
const STORM = 300;
/** Connections of the storm opened at once (each burst cut before the next). */
const BURST = 10;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { MAX_SOCKETS_PER_API_KEY: String(SOCKETS_PER_KEY) } });
});
afterAll(async () => {
  await server?.stop();
});

/** How many of `SOCKETS_PER_KEY` sockets opened at once with the key are accepted; closes them all again. */
async function acceptedAtOnce(secret: string): Promise<number> {
  const sockets = Array.from({ length: SOCKETS_PER_KEY }, () => openRawSocket(server.url, { authorization: `Bearer ${secret}` }));
  const acked = await Promise.all(sockets.map((s) => s.acked));
  for (const s of sockets) s.socket.close();
  await Promise.all(sockets.map((s) => s.closed));
  return acked.filter(Boolean).length;
}

test('sockets closed while their key check runs give their slot back: the key can still open its full allowance', async () => {
  const { createApiKey } = await server.client.request(CreateApiKeyDocument, { name: 'stormed' });
  const secret = createApiKey.secret;
  expect(await acceptedAtOnce(secret)).toBe(SOCKETS_PER_KEY);

  const { report } = await underProbe(server, () =>
    initAndTerminateStorm({ url: server.url, authorization: `Bearer ${secret}`, total: STORM, burst: BURST }),
  );

  // The server may still be finishing the storm's key checks: slots they hold in passing are given
  // back as their closes are handled. Before the fix, the slots of sockets closed mid-check were never given back.
  const accepted = await waitFor(() => acceptedAtOnce(secret), (n) => n === SOCKETS_PER_KEY, {
    what: `all ${SOCKETS_PER_KEY} sockets of the key to be accepted after the storm`,
    timeoutMs: 10_000,
  });
  expect(accepted).toBe(SOCKETS_PER_KEY);
  expect(report.failures).toEqual([]);
  expect(report.maxMs).toBeLessThan(RESPONSIVE_WITHIN_MS);
});
