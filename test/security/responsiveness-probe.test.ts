import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { startResponsivenessProbe } from './support/responsiveness-probe.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

// The security tests assert "the server stayed responsive" with this probe; it must see a freeze.
test('the probe sees the server event loop frozen for 300 ms as one slow probe', async () => {
  const probe = startResponsivenessProbe({ url: server.url, apiKey: server.apiKey });
  await probe.ready;
  const until = Date.now() + 300;
  while (Date.now() < until) {
    // the server runs in this process: block its event loop as a catastrophic regex would
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const report = await probe.stop();
  expect(report.failures).toEqual([]);
  expect(report.maxMs).toBeGreaterThanOrEqual(250);
});

test('on an idle server every probe answers quickly', async () => {
  const probe = startResponsivenessProbe({ url: server.url, apiKey: server.apiKey });
  await probe.ready;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const report = await probe.stop();
  expect(report.answered).toBeGreaterThan(3);
  expect(report.failures).toEqual([]);
});
