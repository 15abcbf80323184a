import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WorkflowDocument } from '../../src/sdk/operations.generated.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The SDK as an integrator gets it: the README's install blocks (marked `<!-- sdk-package-example -->`)
 * run in a fresh app outside the repository, and that app then uses `@workflow-builder/sdk` from
 * JavaScript against a server of its own, and from TypeScript through the package's declarations.
 * npm answers from its cache where it can (`prefer-offline`): the SDK's dependencies are the
 * repository's, which `npm ci` put there.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
/** Where the README's blocks say the repository is. */
const REPOSITORY = '/path/to/workflow-builder';

interface InstallBlock {
  readonly line: number;
  readonly code: string;
}

/** The sh blocks of the README right after an `<!-- sdk-package-example -->` marker, with their lines. */
function installBlocks(): InstallBlock[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/<!-- sdk-package-example -->\s*```sh\n([\s\S]*?)```/g)].map((m) => ({
    line: readme.slice(0, m.index).split('\n').length + 1,
    code: m[1]!,
  }));
}

/** What a block says it prints (`# → x` after a command). */
const shownOutput = (code: string) => [...code.matchAll(/\s#\s*→\s*(.+)$/gm)].map((m) => m[1]!.trim());

/** The plain ESM program an integrator writes: make a workflow, read it back, and see an error's code. */
const CONSUMER_JS = `
import { CreateWorkflowDocument, WorkflowBuilderClient, WorkflowBuilderError, WorkflowDocument } from '@workflow-builder/sdk';

const sdk = new WorkflowBuilderClient({ url: process.env.API, apiKey: process.env.KEY });
const { createWorkflow } = await sdk.request(CreateWorkflowDocument, { input: { name: process.env.NAME } });
const { workflow } = await sdk.request(WorkflowDocument, { id: createWorkflow.id });
const missing = await sdk.request(WorkflowDocument, { id: '00000000-0000-4000-8000-000000000000' }).catch((err) => err);
await sdk.close();
console.log(JSON.stringify({
  id: createWorkflow.id,
  name: workflow.name,
  missing: missing instanceof WorkflowBuilderError ? missing.code : String(missing),
}));
`;

/**
 * A TypeScript consumer, checked (not run) against the installed declarations. The expected errors
 * fail the check if the types were lost (an \`any\` accepts everything and reports nothing).
 */
const CONSUMER_TS = `
import {
  CreateWorkflowDocument,
  WorkflowBuilderClient,
  WorkflowBuilderError,
  WorkflowDocument,
  type WorkflowQuery,
} from '@workflow-builder/sdk';

export async function createAndRead(url: string, apiKey: string, name: string): Promise<string> {
  const sdk = new WorkflowBuilderClient({ url, apiKey });
  const { createWorkflow } = await sdk.request(CreateWorkflowDocument, { input: { name } });
  const id: string = createWorkflow.id;
  const { workflow }: WorkflowQuery = await sdk.request(WorkflowDocument, { id });
  await sdk.close();
  return workflow.name;
}

export function misuses(sdk: WorkflowBuilderClient): void {
  // @ts-expect-error a workflow needs a name
  void sdk.request(CreateWorkflowDocument, { input: {} });
  // @ts-expect-error a workflow has no colour
  void sdk.request(WorkflowDocument, { id: 'x' }).then((r) => r.workflow.colour);
}

export const codeOf = (err: unknown): string | undefined => (err instanceof WorkflowBuilderError ? err.code : undefined);
`;

/** A strict consumer setup without Node's or the DOM's types: the SDK's declarations must need neither. */
const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    types: [],
  },
  files: ['consumer.ts'],
};

/** npm as the README's reader runs it, but from the cache where it can and without its chatter. */
const npmEnv = {
  ...process.env,
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

let server: TestServer;
const apps: string[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
  for (const app of apps) rmSync(app, { recursive: true, force: true });
});

test('the README shows how to install the SDK from a path and from a tarball', () => {
  const blocks = installBlocks();
  expect(blocks.map((b) => b.code.includes('npm pack'))).toEqual([false, true]);
  const { version } = JSON.parse(readFileSync(join(root, 'src/sdk/package.json'), 'utf8')) as { version: string };
  expect(blocks[1]!.code).toContain(`workflow-builder-sdk-${version}.tgz`);
});

describe.each(installBlocks().map((block, i) => ({ ...block, kind: i === 0 ? 'a path' : 'a tarball' })))(
  'the SDK installed from $kind (README.md:$line)',
  ({ line, code, kind }) => {
    let app: string;
    beforeAll(async () => {
      app = mkdtempSync(join(tmpdir(), 'wfb-sdk-app-'));
      apps.push(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }));
      const { stdout } = await run('bash', ['-c', `set -euo pipefail\n${code.replaceAll(REPOSITORY, root)}`], {
        cwd: app,
        env: npmEnv,
        timeout: 120_000,
      }).catch((err: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`README.md:${line} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
      });
      for (const shown of shownOutput(code)) expect(stdout, `README.md:${line}`).toContain(shown);
    }, 180_000);

    test('an ESM program imports it and talks to the server', async () => {
      writeFileSync(join(app, 'consumer.mjs'), CONSUMER_JS);
      const name = `installed from ${kind}`;
      const { stdout } = await run(process.execPath, ['consumer.mjs'], {
        cwd: app,
        env: { ...process.env, API: server.url, KEY: server.apiKey, NAME: name },
        timeout: 30_000,
      });
      const seen = JSON.parse(stdout) as { id: string; name: string; missing: string };
      expect(seen).toMatchObject({ name, missing: 'NOT_FOUND' });
      // The workflow is the server's, in the key's workspace.
      const { workflow } = await server.client.request(WorkflowDocument, { id: seen.id });
      expect(workflow.name).toBe(name);
    });

    test("a TypeScript consumer type-checks against the package's declarations", async () => {
      writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
      writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
      await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, timeout: 120_000 }).catch(
        (err: Error & { stdout?: string }) => {
          throw new Error(`the consumer does not type-check:\n${err.stdout ?? err.message}`);
        },
      );
    }, 120_000);

    if (kind === 'a tarball') {
      test('the tarball holds the build and the app gets only its runtime dependencies', async () => {
        const tarball = readdirSync(app).find((f) => f.endsWith('.tgz'));
        expect(tarball).toBeDefined();
        const { stdout } = await run('tar', ['-tzf', join(app, tarball!)]);
        const files = stdout.trim().split('\n').sort();
        expect(files).toContain('package/package.json');
        expect(files).toContain('package/dist/index.js');
        expect(files).toContain('package/dist/index.d.ts');
        expect(files.filter((f) => !/^package\/(package\.json|dist\/[\w.-]+\.(js|d\.ts))$/.test(f))).toEqual([]);
        const installed = readdirSync(join(app, 'node_modules')).filter((f) => !f.startsWith('.')).sort();
        expect(installed).toEqual(['@graphql-typed-document-node', '@workflow-builder', 'graphql', 'graphql-ws']);
        expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
      });
    }
  },
);
