import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApplyEditsDocument, CreateWorkflowDocument, PublishWorkflowDocument, StartWorkflowDocument } from '../../src/sdk/operations.generated.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { isolatedDatabase } from './webhooks/isolated-database.js';

/**
 * Every fenced code block of README.md is run here, by language, or says why not:
 * - `sh`/`bash`: the blocks run in order in one bash, as a reader pastes them into one terminal,
 *   against a test server: `http://localhost:4000` becomes its address, and placeholder assignments
 *   (`KEY=wfb_...`, `WORKFLOW_ID=...`) get real values. A comment that shows output (`# → 42`, or a
 *   comment line starting with `HTTP/`, `{` or `<`; `…` stands for anything) must match a line the
 *   block printed (anywhere in it), and no block may print a GraphQL or HTTP error body it does not show.
 * - `graphql`: run in order in a fresh workspace; the ids a block makes feed the next one's variables.
 * - `js`/`ts`: programs, type-checked (`ts`) and run with `API`, `KEY` and `WORKFLOW_ID`; they
 *   must exit 0. With `<!-- readme-test: file <path> -->` a `ts` block is a module at that path:
 *   type-checked there and imported. `js` blocks after `<!-- example -->` are the integrator
 *   example, run by readme-example.test.ts.
 * - `sh` blocks after `<!-- sdk-package-example -->` install the SDK into an app outside the
 *   repository: sdk-package.test.ts runs them there.
 * - `json`: parsed. `text`: output or layout, not code.
 * - `<!-- readme-test: skip <reason> -->` right before a block skips it, with the reason.
 * Any other block fails the first test, so a new block is run or explicitly marked.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const README = join(root, 'README.md');
const run = promisify(execFile);

/** The most blocks the README may skip: skipping is for what cannot run here (starting servers, the suite). */
const MAX_SKIPPED = 6;

type Marker = { kind: 'skip'; reason: string } | { kind: 'file'; path: string } | { kind: 'example'; lang: string };

interface Block {
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly marker: Marker | undefined;
}

/** The fenced blocks of a Markdown text, each with the marker comment on the last non-blank line before it. */
function fencedBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end >= lines.length) throw new Error(`README.md:${i + 1}: a code block is never closed`);
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    blocks.push({ lang: open[1]!, code: lines.slice(i + 1, end).join('\n'), line: i + 1, marker: markerOf(lines[before]) });
    i = end;
  }
  return blocks;
}

function markerOf(line: string | undefined): Marker | undefined {
  const comment = line?.trim().match(/^<!--\s*(.*?)\s*-->$/)?.[1];
  if (comment === undefined) return undefined;
  // Examples run by a test of their own: the integrator example (readme-example.test.ts), the
  // error-path walk-through (readme-error-paths.test.ts), the waits for an event and for a reply
  // (readme-waits.test.ts) and the SDK's installation in an app of its own (sdk-package.test.ts),
  // each of which finds its blocks by this mark.
  if (comment === 'example') return { kind: 'example', lang: 'js' };
  if (['error-paths-example', 'wait-for-event-example', 'wait-for-message-example'].includes(comment)) return { kind: 'example', lang: 'graphql' };
  if (comment === 'sdk-package-example') return { kind: 'example', lang: 'sh' };
  const test = /^readme-test:\s*(skip|file)\s*(.*)$/.exec(comment);
  if (!test) return undefined;
  return test[1] === 'skip' ? { kind: 'skip', reason: test[2]! } : { kind: 'file', path: test[2]! };
}

type Plan = 'skip' | 'example' | 'text' | 'json' | 'shell' | 'graphql' | 'program' | 'module';

/** What the suite does with a block, or why it cannot. */
function planOf(block: Block): Plan | { error: string } {
  const where = `README.md:${block.line}`;
  if (block.marker?.kind === 'skip') {
    return block.marker.reason.length >= 10 ? 'skip' : { error: `${where}: a skipped block needs its reason` };
  }
  if (block.marker?.kind === 'example') {
    return block.lang === block.marker.lang ? 'example' : { error: `${where}: this example mark is for ${block.marker.lang} blocks only` };
  }
  if (block.marker?.kind === 'file') return block.lang === 'ts' ? 'module' : { error: `${where}: readme-test: file marks ts blocks only` };
  switch (block.lang) {
    case 'text':
      return 'text';
    case 'json':
      return 'json';
    case 'sh':
    case 'bash':
      return 'shell';
    case 'graphql':
      return 'graphql';
    case 'js':
    case 'ts':
      return 'program';
    case '':
      return { error: `${where}: a code block needs a language (text for output or layout)` };
    default:
      return { error: `${where}: the suite cannot run ${block.lang} blocks; run it or mark it <!-- readme-test: skip <reason> -->` };
  }
}

const blocks = fencedBlocks(readFileSync(README, 'utf8'));
const planned = (plan: Plan) => blocks.filter((b) => planOf(b) === plan);

test('every README code block is run by the suite or marked with the reason it is not', () => {
  const errors = blocks.flatMap((b) => {
    const plan = planOf(b);
    return typeof plan === 'object' ? [plan.error] : [];
  });
  expect(errors).toEqual([]);
  expect(planned('skip').length).toBeLessThanOrEqual(MAX_SKIPPED);
  // The parser itself: a block without a language or with an unknown one is refused, a skip needs a reason.
  const probe = fencedBlocks('```\nx\n```\n\n```python\nx\n```\n<!-- readme-test: skip -->\n```sh\nx\n```\n');
  expect(probe.map((b) => typeof planOf(b))).toEqual(['object', 'object', 'object']);
});

test('json blocks parse', () => {
  for (const block of planned('json')) expect(() => JSON.parse(block.code), `README.md:${block.line}`).not.toThrow();
});

describe('README blocks against a server', () => {
  let server: TestServer;
  let isolated: Awaited<ReturnType<typeof isolatedDatabase>>;
  /** A published workflow (webhook trigger → SMS) with one finished run: what WORKFLOW_ID stands for. */
  let workflowId: string;
  const secrets = { META_VERIFY_TOKEN: 'readme-verify-token', META_APP_SECRET: 'readme-app-secret' };

  beforeAll(async () => {
    // The inbound block's delivery starts matching workflows of every workspace, and is stored
    // once per signed digest for good: on real Postgres it gets a database of its own.
    isolated = await isolatedDatabase();
    server = await startTestServer({ env: { ...isolated.env, ...secrets } });
    const { createWorkflow } = await server.client.request(CreateWorkflowDocument, { input: { name: 'README' } });
    workflowId = createWorkflow.id;
    await server.client.request(ApplyEditsDocument, {
      workflowId,
      edits: [
        { addStep: { id: 'hook', type: 'trigger.webhook', name: 'Called' } },
        { addStep: { id: 'sms', type: 'sms.send', name: 'SMS', config: { to: '+15550100', text: 'hi' }, after: { stepId: 'hook', port: 'next' } } },
      ],
    });
    await server.client.request(PublishWorkflowDocument, { workflowId });
    await server.client.request(StartWorkflowDocument, { workflowId, input: {} });
  });
  afterAll(async () => {
    await server?.stop();
    await isolated?.drop();
  });

  /** `http://localhost:4000` as the README writes it, pointed at the test server. */
  const localhost = () => `http://localhost:${new URL(server.url).port}`;

  test('shell blocks run in order in one shell and print what they say they print', async () => {
    const placeholders: Record<string, string> = { KEY: server.apiKey, WORKFLOW_ID: workflowId };
    const shell = planned('shell');
    const script = ['set -euo pipefail'];
    for (const block of shell) {
      // On a line of its own even after output without a final newline (curl's bodies).
      script.push(`printf '\\n@@block ${block.line}@@\\n'`);
      for (const line of block.code.replaceAll('http://localhost:4000', localhost()).split('\n')) {
        const placeholder = /^(\w+)=(?:\S*\.\.\.|<[^>]*>)(\s+#.*)?$/.exec(line);
        if (!placeholder) {
          script.push(line);
          continue;
        }
        const value = placeholders[placeholder[1]!];
        if (value === undefined) throw new Error(`README.md:${block.line}: no value for the placeholder ${placeholder[1]}`);
        script.push(`${placeholder[1]}='${value}'`);
      }
    }
    const { stdout } = await run('bash', ['-c', script.join('\n')], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...secrets },
      timeout: 60_000,
    }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`the README's shell blocks failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
    const outputs = new Map<number, string[]>();
    let current: string[] = [];
    for (const line of stdout.split('\n')) {
      const start = /^@@block (\d+)@@$/.exec(line);
      if (start) outputs.set(Number(start[1]), (current = []));
      else current.push(line.replace(/\r$/, ''));
    }
    for (const block of shell) {
      const printed = outputs.get(block.line) ?? [];
      const where = `README.md:${block.line}`;
      for (const expected of expectedOutput(block.code.replaceAll('http://localhost:4000', localhost()))) {
        expect(printed.join('\n'), where).toMatch(expected);
      }
      const shown = block.code.includes('"error');
      if (!shown) expect(printed.join('\n'), `${where} printed an error`).not.toMatch(/"errors?":/);
    }
  }, 120_000);

  test('graphql blocks run in a fresh workspace, each feeding the next', async () => {
    const { client } = await server.newWorkspace('README graphql');
    const made: { workflowId?: string; instanceId?: string } = {};
    /** Where the variables of each documented operation come from. */
    const variablesOf: Record<string, () => Record<string, unknown>> = {
      Build: () => ({ id: made.workflowId }),
      Publish: () => ({ id: made.workflowId }),
      Start: () => ({ id: made.workflowId }),
      Follow: () => ({ id: made.instanceId }),
      ByMessageId: () => ({ id: made.workflowId }),
      BuildReport: () => ({ id: made.workflowId }),
      NextTick: () => ({ id: made.workflowId }),
      StopReport: () => ({ id: made.workflowId }),
      DeleteReport: () => ({ id: made.workflowId }),
      LetRepliesStartWorkflows: () => ({ id: made.workflowId }),
    };
    /** What a documented operation must find, where the README says what it finds. */
    const findsOf: Record<string, (data: Record<string, unknown>) => void> = {
      // Start's input has `message.id` "mid.1": the filter finds that run, and only it.
      ByMessageId: (data) => expect(data).toMatchObject({ workflowInstances: { totalCount: 1, edges: [{ node: { id: made.instanceId } }] } }),
      // The setting is on in the draft and in the version just published.
      LetRepliesStartWorkflows: (data) =>
        expect(data).toMatchObject({
          updateWorkflow: { label: 'Let replies to waits also start workflows', canUndo: true, workflow: { repliesAlsoStartWorkflows: true } },
          publishWorkflow: { version: { repliesAlsoStartWorkflows: true } },
        }),
      // The report never ran (its first tick is a weekday morning to come): nothing to cancel or delete with it.
      DeleteReport: (data) => expect(data).toMatchObject({ deleteWorkflow: { id: made.workflowId, name: 'Weekday report', cancelledInstances: 0, deletedInstances: 0 } }),
    };
    const graphql = planned('graphql');
    expect(graphql.length).toBeGreaterThan(0);
    for (const block of graphql) {
      const operation = parse(block.code).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      const name = operation?.name?.value;
      const needsVariables = (operation?.variableDefinitions?.length ?? 0) > 0;
      const variables = name && variablesOf[name] ? variablesOf[name]() : undefined;
      if (needsVariables && !variables) throw new Error(`README.md:${block.line}: tell this test where the variables of ${name ?? 'the operation'} come from`);
      const { body } = await client.raw(block.code, variables);
      expect(body.errors, `README.md:${block.line}`).toBeUndefined();
      if (name && findsOf[name]) findsOf[name](body.data as Record<string, unknown>);
      const data = body.data as { createWorkflow?: { id: string }; startWorkflow?: { instance: { id: string } } };
      made.workflowId = data.createWorkflow?.id ?? made.workflowId;
      made.instanceId = data.startWorkflow?.instance.id ?? made.instanceId;
    }
  });

  test('ts blocks type-check; js and ts programs run to their end, and modules import', async () => {
    const programs = planned('program');
    const modules = planned('module');
    const scratch = join(root, '.test-data', `readme-blocks-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
    // A program's relative imports are the repository root's; a module's are those of its path.
    const sourceOf = (block: Block) =>
      block.marker?.kind === 'file'
        ? join(root, dirname(block.marker.path), `.readme-${basename(block.marker.path)}`)
        : join(root, `.readme-block-${block.line}-${process.pid}.${block.lang === 'ts' ? 'ts' : 'mjs'}`);
    const written = [...programs, ...modules].map((block) => {
      const file = sourceOf(block);
      writeFileSync(file, block.code);
      return { block, file };
    });
    const tsconfig = join(root, `.readme-tsconfig-${process.pid}.json`);
    try {
      const typed = written.filter((w) => w.block.lang === 'ts').map((w) => w.file);
      writeFileSync(tsconfig, JSON.stringify({ extends: './tsconfig.json', include: [], files: typed }));
      await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', tsconfig], { cwd: root, timeout: 120_000 }).catch(
        (err: Error & { stdout?: string }) => {
          throw new Error(`README ts blocks do not type-check:\n${err.stdout ?? err.message}`);
        },
      );
      for (const { block, file } of written) {
        const bundle = join(scratch, `block-${block.line}.mjs`);
        await build({ entryPoints: [file], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: bundle, logLevel: 'silent' });
        const { stdout } = await run(process.execPath, [bundle], {
          cwd: root,
          env: { ...process.env, API: server.url, KEY: server.apiKey, WORKFLOW_ID: workflowId },
          timeout: 30_000,
        }).catch((err: Error & { stdout?: string; stderr?: string }) => {
          throw new Error(`README.md:${block.line} did not run to its end: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
        });
        // A program shows what it saw, up to the end of a run; a module only has to load.
        if (block.marker?.kind !== 'file') expect(stdout, `README.md:${block.line}`).toMatch(/→ COMPLETED/);
      }
    } finally {
      for (const { file } of written) rmSync(file, { force: true });
      rmSync(tsconfig, { force: true });
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 180_000);
});

/** What a shell block says it prints: `# → x` after a command, and comment lines that start like output. */
function expectedOutput(code: string): RegExp[] {
  const shown: string[] = [];
  for (const line of code.split('\n')) {
    const inline = /\s#\s*→\s*(.+)$/.exec(line);
    if (inline) shown.push(inline[1]!.trim());
    const comment = /^\s*#\s*((?:HTTP\/|\{|<).*)$/.exec(line);
    if (comment) shown.push(comment[1]!.trim());
  }
  // Found anywhere in the output: curl prints a body without a final newline, so the next output shares its line.
  return shown.map((text) => new RegExp(text.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^\\n]*')));
}
