import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApp, type App } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import { schedulerTable, testDatabaseUrl } from '../support/test-server.js';

/** The keys of a JSON object's top level, in order and with repeats (JSON.parse keeps only the last). */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(json.slice(i, end + 1)) as string);
      expectKey = false;
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

describe('log lines of a whole start, a request and a stop', () => {
  const lines: string[] = [];
  let app: App | undefined;
  let dataDir: string | undefined;

  beforeAll(async () => {
    const url = testDatabaseUrl();
    dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'wfb-logs-'));
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      SCHEDULER_TABLE: schedulerTable,
      SWEEP_INTERVAL_MS: '600000',
      ...(url ? { DATABASE_URL: url } : { DATA_DIR: dataDir! }),
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    app = await startApp({ config, logger: pino({ level: 'debug' }, sink) });
    await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    await app.stop();
    app = undefined;
  });
  afterAll(async () => {
    await app?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('no line repeats a key (a child logger must not add a second `component`)', () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((line) => topLevelKeys(line).includes('component'))).toBe(true);
    const repeated = lines.filter((line) => new Set(topLevelKeys(line)).size !== topLevelKeys(line).length);
    expect(repeated).toEqual([]);
  });
});
