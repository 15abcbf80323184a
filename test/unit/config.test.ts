import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { metaVendor } from '../../src/providers/meta-messaging.provider.js';
import { defineMessagingVendor } from '../../src/providers/messaging-vendor.js';
import { twilioVendor } from '../../src/providers/twilio-messaging.provider.js';
import { ConfigError, loadConfig } from '../../src/server/config.js';

/** The ConfigError `fn` throws; fails the test when it throws anything else or nothing. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but loadConfig returned');
}

describe('loadConfig', () => {
  test('defaults when the environment is empty', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(4000);
    expect(config.DATA_DIR).toBe('./.data');
    expect(config.HISTORY_DEPTH).toBe(1000);
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.ROLE).toBe('all');
    expect(config.BOOTSTRAP_API_KEY).toBe(true);
  });

  test('empty strings count as unset', () => {
    const config = loadConfig({ PORT: '', DATA_DIR: '', HISTORY_DEPTH: '', DATABASE_URL: '' });
    expect(config.PORT).toBe(4000);
    expect(config.DATA_DIR).toBe('./.data');
    expect(config.HISTORY_DEPTH).toBe(1000);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  test('parses good values', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgresql://u@db:5432/app',
      ROLE: 'worker',
      HISTORY_DEPTH: '5',
      BOOTSTRAP_API_KEY: 'no',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'postgresql://u@db:5432/app',
      ROLE: 'worker',
      HISTORY_DEPTH: 5,
      BOOTSTRAP_API_KEY: false,
    });
  });

  test.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '1.5'],
    ['DATABASE_URL', 'mysql://x'],
    ['ROLE', 'boss'],
    ['HISTORY_DEPTH', '0'],
    ['HISTORY_DEPTH', '-3'],
    ['MAX_STEP_CONFIG_BYTES', '10'],
    ['BOOTSTRAP_API_KEY', 'maybe'],
  ])('refuses %s=%s and names the variable', (variable, value) => {
    const err = configErrorOf(() => loadConfig({ [variable]: value }));
    expect(err.problems.map((p) => p.variable)).toEqual([variable]);
    expect(err.message).toContain(`${variable}:`);
  });

  test('names every bad variable at once', () => {
    const err = configErrorOf(() =>
      loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', ROLE: 'boss', HISTORY_DEPTH: '0', DATA_DIR: '/ok' }),
    );
    expect(err.name).toBe('ConfigError');
    expect(err.problems.map((p) => p.variable).sort()).toEqual(['DATABASE_URL', 'HISTORY_DEPTH', 'PORT', 'ROLE']);
    for (const variable of ['PORT', 'DATABASE_URL', 'ROLE', 'HISTORY_DEPTH']) {
      expect(err.message).toMatch(new RegExp(`^\\s+${variable}: \\S`, 'm'));
    }
    expect(err.message).not.toContain('DATA_DIR');
    // The message says why, not only where.
    expect(err.message).toContain('must be a postgres:// or postgresql:// URL');
  });

  test('TRUST_PROXY: off by default; true, a hop count, or a list of addresses and CIDRs', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::1' }).TRUST_PROXY).toEqual(['loopback', '10.0.0.0/8', 'fd00::1']);
    const err = configErrorOf(() => loadConfig({ TRUST_PROXY: 'loopback,not-an-address' }));
    expect(err.problems.map((p) => p.variable)).toEqual(['TRUST_PROXY']);
  });

  test('failed key attempts: 60 per minute and address by default', () => {
    const config = loadConfig({});
    expect([config.AUTH_FAILURE_LIMIT, config.AUTH_FAILURE_WINDOW_MS]).toEqual([60, 60_000]);
    expect(configErrorOf(() => loadConfig({ AUTH_FAILURE_LIMIT: '0' })).problems.map((p) => p.variable)).toEqual(['AUTH_FAILURE_LIMIT']);
  });
});

describe('messaging vendor settings (declared by each vendor)', () => {
  test('are read from the same variables, with their defaults', () => {
    const config = loadConfig({ TWILIO_ACCOUNT_SID: 'AC1', TWILIO_AUTH_TOKEN: 'tok', META_APP_SECRET: 's' });
    expect(config.messaging.vendors.map((v) => [v.name, v.channels])).toEqual([
      ['twilio', ['sms', 'whatsapp']],
      ['meta', ['instagram']],
    ]);
    expect(config.messaging.settingsOf(twilioVendor)).toMatchObject({
      TWILIO_ACCOUNT_SID: 'AC1',
      TWILIO_AUTH_TOKEN: 'tok',
      TWILIO_BASE_URL: 'https://api.twilio.com',
    });
    expect(config.messaging.settingsOf(metaVendor)).toMatchObject({
      META_IG_USER_ID: 'me',
      META_GRAPH_VERSION: 'v21.0',
      META_APP_SECRET: 's',
    });
  });

  test.each([
    [{ TWILIO_ACCOUNT_SID: 'AC1' }, 'TWILIO_AUTH_TOKEN', 'set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither'],
    [{ TWILIO_AUTH_TOKEN: 'tok' }, 'TWILIO_ACCOUNT_SID', 'set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither'],
    [{ TWILIO_BASE_URL: 'not a url' }, 'TWILIO_BASE_URL', ''],
    [{ META_GRAPH_VERSION: '21' }, 'META_GRAPH_VERSION', 'must look like v21.0'],
  ])('refuses %o naming %s', (env, variable, message) => {
    const err = configErrorOf(() => loadConfig(env));
    expect(err.problems.map((p) => p.variable)).toEqual([variable]);
    expect(err.message).toContain(`${variable}: ${message}`);
  });

  test("a vendor's bad variables are named with the server's, at once", () => {
    const err = configErrorOf(() => loadConfig({ PORT: 'abc', META_GRAPH_VERSION: 'x', TWILIO_ACCOUNT_SID: 'AC1' }));
    expect(err.problems.map((p) => p.variable).sort()).toEqual(['META_GRAPH_VERSION', 'PORT', 'TWILIO_AUTH_TOKEN']);
  });

  test('a vendor may not claim a variable of the server or of another vendor', () => {
    const clash = (name: string, variable: string) =>
      defineMessagingVendor({ name, displayName: name, channels: [name], settings: z.object({ [variable]: z.string().optional() }), create: () => undefined });
    expect(() => loadConfig({}, { vendors: [clash('portly', 'PORT')] })).toThrow(/PORT of messaging vendor 'portly' is already a setting of the server/);
    expect(() => loadConfig({}, { vendors: [clash('a', 'X_TOKEN'), clash('b', 'X_TOKEN')] })).toThrow(/X_TOKEN of messaging vendor 'b'/);
    expect(() => loadConfig({}, { vendors: [clash('a', 'X_TOKEN'), clash('a', 'Y_TOKEN')] })).toThrow(/registered twice/);
  });
});
