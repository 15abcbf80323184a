import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The js blocks of the README that follow an `<!-- example -->` marker, in order. */
function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/<!-- example -->\s*```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error('README has no example blocks');
  return blocks.join('\n');
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

test("the README's integrator example runs as written: authenticate, build, publish, subscribe, start over GraphQL and a webhook", async () => {
  // Inside the repository, so the script resolves graphql-ws and ws like a user's project would.
  const dir = join(root, '.test-data');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `readme-example-${process.pid}-${Date.now()}.mjs`);
  writeFileSync(file, readmeExample());
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file], {
      env: { ...process.env, API: server.url, KEY: server.apiKey },
      timeout: 60_000,
    });
    expect(stdout).toContain('authenticated to test workspace');
    expect(stdout).toContain('published version 1');
    expect(stdout).toMatch(/started \S+ \(GraphQL\) and \S+ \(webhook, HTTP 202\)/);
    expect(stdout).toMatch(/thanks → SUCCEEDED/);
    expect(stdout).toMatch(/done → SUCCEEDED/);
    expect(stdout.trim().split('\n').at(-1)).toBe('both runs finished');
  } finally {
    rmSync(file, { force: true });
  }
});
