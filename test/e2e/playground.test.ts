import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CreateWorkflowDocument, AddStepDocument } from '../../src/sdk/operations.generated.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Debian's Chromium; tests never install it. CI installs it with
 * `apt-get install -y --no-install-recommends chromium` (see the report of issue 5).
 */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`test/e2e/playground.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

/** Flags for a headless browser that itself reaches nothing outside the test. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SCREENSHOT = '/tmp/playground.png';
const SUBSCRIPTION_SCREENSHOT = '/tmp/playground-subscription.png';

describe.skipIf(!haveChromium)(`the GraphiQL playground in Chromium (needs ${CHROMIUM})`, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('request', (request) => requested.push(request.url()));
    page.on('websocket', (socket) => requested.push(socket.url()));
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const QUERY_EDITOR = '.graphiql-query-editor';
  /** The visible one of the Variables / Headers pair. */
  const HEADERS_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden)';

  /** Replaces the text of the Monaco editor inside `container`. */
  async function setEditor(container: string, text: string): Promise<void> {
    const editor = page.locator(`${container} .monaco-editor`).first();
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // insertText types no keys, so Monaco's auto-closing of brackets and quotes does not add any.
    await page.keyboard.insertText(text);
  }

  /** The response pane's text once it contains `expected`. */
  async function responseContaining(expected: string): Promise<string> {
    const response = page.locator('.graphiql-response');
    await expect.poll(async () => (await response.innerText()).replace(/\u00a0/g, ' '), { timeout: 20_000 }).toContain(expected);
    return (await response.innerText()).replace(/\u00a0/g, ' ');
  }

  test('opens from local files, runs a query with the Authorization header, and reaches nothing else', { timeout: 120_000 }, async () => {
    await page.goto(server.url, { waitUntil: 'load' });
    await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor({ timeout: 60_000 });

    await page.locator('.graphiql-editor-tools button', { hasText: 'Headers' }).click();
    await setEditor(HEADERS_EDITOR, JSON.stringify({ Authorization: `Bearer ${server.apiKey}` }));
    await setEditor(QUERY_EDITOR, '{ actionTypes { type } }');
    await page.locator('.graphiql-execute-button').click();

    const text = await responseContaining('trigger.manual');
    expect(text).not.toContain('UNAUTHENTICATED');
    await page.screenshot({ path: SCREENSHOT });

    const origin = new URL(server.url);
    const foreign = requested.filter((url) => {
      const u = new URL(url);
      if (u.protocol === 'data:' || u.protocol === 'blob:') return false;
      return u.host !== origin.host;
    });
    expect(foreign).toEqual([]);
    expect(requested.some((url) => url.endsWith('/graphql/playground/playground.js'))).toBe(true);
    expect(problems.filter((p) => /Content Security Policy|Refused to/i.test(p))).toEqual([]);
  });

  test('runs a subscription over graphql-ws with the same header', { timeout: 60_000 }, async () => {
    const { createWorkflow } = await server.client.request(CreateWorkflowDocument, { input: { name: 'Watched from the playground' } });
    await setEditor(
      QUERY_EDITOR,
      `subscription { workflowEdited(workflowId: "${createWorkflow.id}") { label draftRevision } }`,
    );
    await page.locator('.graphiql-execute-button').click();
    // The subscription is live once its socket is open; then an edit through HTTP shows up in the pane.
    await expect.poll(() => requested.some((url) => url.startsWith('ws://')), { timeout: 10_000 }).toBe(true);
    await expect
      .poll(
        async () => {
          await server.client.request(AddStepDocument, {
            workflowId: createWorkflow.id,
            input: { type: 'end', name: `End ${Date.now()}` },
          });
          return (await page.locator('.graphiql-response').innerText()).replace(/\u00a0/g, ' ');
        },
        { timeout: 20_000, interval: 1_000 },
      )
      .toContain('draftRevision');
    expect(await page.locator('.graphiql-response').innerText()).toContain('workflowEdited');
    await page.screenshot({ path: SUBSCRIPTION_SCREENSHOT });
    const socketUrls = requested.filter((url) => url.startsWith('ws'));
    expect(socketUrls.every((url) => new URL(url).host === new URL(server.url).host)).toBe(true);
  });
});
