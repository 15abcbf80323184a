import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBusFailureCode } from '../../../src/realtime/in-process-event-bus.js';
import { PostgresEventBus, type PostgresEventBusOptions } from '../../../src/realtime/postgres-event-bus.js';
import { capturingLogger } from './capturing-logger.js';
import { describeDueStepsContract } from './due-steps.contract.js';
import {
  describeEventBusContract,
  draftNotification,
  Received,
  runNotification,
  waitUntil,
} from './event-bus.contract.js';

const databaseUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;

/** Per run (and per pair): test files and runs sharing one database never hear each other. */
const runPrefix = `wfb_events_test_${process.pid}_${randomBytes(4).toString('hex')}`;
let channels = 0;
const uniqueChannel = () => `${runPrefix}_${++channels}`;

const busOptions = (url: string, channel: string): PostgresEventBusOptions => ({
  url,
  channel,
  logger: capturingLogger().logger,
  closeTimeoutMs: 2_000,
});

describe.skipIf(!databaseUrl)(
  'PostgresEventBus' +
    (databaseUrl
      ? ''
      : ' (skipped: set TEST_DATABASE_URL or DATABASE_URL to a real Postgres. The embedded database cannot ' +
        'deliver LISTEN/NOTIFY between connections, so the embedded setup uses InProcessEventBus)'),
  () => {
    const url = databaseUrl ?? '';

    const twoProcesses = async () => {
      const channel = uniqueChannel();
      const a = await PostgresEventBus.create(busOptions(url, channel));
      const b = await PostgresEventBus.create(busOptions(url, channel));
      return {
        a,
        b,
        cleanup: async () => {
          await Promise.all([a.close(), b.close()]);
        },
      };
    };
    describeEventBusContract('PostgresEventBus (two buses, as two processes)', twoProcesses);
    describeDueStepsContract('over PostgresEventBus (two buses, as two processes)', twoProcesses);

    describe('PostgresEventBus on its own', () => {
      const toClose: { close(): Promise<void> }[] = [];
      afterEach(async () => {
        await Promise.all(toClose.splice(0).map((closable) => closable.close()));
      });

      const rawSql = () => {
        const sql = postgres(url, { max: 1, onnotice: () => {} });
        toClose.push({ close: () => sql.end({ timeout: 5 }) });
        return sql;
      };

      it('drops malformed payloads, logging them, and still delivers the valid ones after', async () => {
        const channel = uniqueChannel();
        const { logger, lines } = capturingLogger();
        const bus = await PostgresEventBus.create({ url, channel, logger });
        toClose.push(bus);
        const received = new Received();
        bus.subscribe(received.listener);
        const sql = rawSql();
        const malformed = [
          'not json',
          '{"kind":"run"}',
          '{"kind":"nope","workspaceId":"w","workflowId":"f"}',
          JSON.stringify({ ...runNotification(), seq: -1 }),
          JSON.stringify({ ...runNotification(), xid: '12abc' }),
          JSON.stringify({ ...draftNotification(), change: 'RENAME' }),
          JSON.stringify({ ...draftNotification(), at: 'yesterday' }),
          'null',
        ];

        for (const payload of malformed) await sql`select pg_notify(${channel}, ${payload})`;
        const valid = draftNotification();
        await bus.publish(valid);
        await received.waitFor(valid);
        await sleep(50);

        expect(received.notifications).toEqual([valid]);
        const drops = lines.filter((line) => line.msg === 'dropped a malformed event bus notification');
        // The log keeps the start of each payload only.
        expect(drops.map((line) => line.payload)).toEqual(malformed.map((payload) => payload.slice(0, 200)));
        expect(drops.every((line) => typeof line.reason === 'string' && line.level === 40)).toBe(true);
      });

      it('strips unknown fields a newer process may add, and delivers the rest', async () => {
        const channel = uniqueChannel();
        const bus = await PostgresEventBus.create(busOptions(url, channel));
        toClose.push(bus);
        const received = new Received();
        bus.subscribe(received.listener);
        const sent = runNotification(5);

        await rawSql()`select pg_notify(${channel}, ${JSON.stringify({ ...sent, addedLater: true })})`;
        await received.waitFor(sent);

        expect(received.notifications).toEqual([sent]);
      });

      it('refuses a payload of 8000 bytes or more with a clear error, and keeps working', async () => {
        const channel = uniqueChannel();
        const bus = await PostgresEventBus.create(busOptions(url, channel));
        toClose.push(bus);
        const received = new Received();
        bus.subscribe(received.listener);

        const large = draftNotification('x'.repeat(9000));
        await expect(bus.publish(large)).rejects.toMatchObject({
          code: EventBusFailureCode.NOTIFICATION_TOO_LARGE,
          retryable: false,
          message: expect.stringMatching(/9\d{3} bytes .*less than 8000/),
        });
        // Counted in bytes, not characters: 4100 'é' are 8200 bytes.
        await expect(bus.publish(draftNotification('é'.repeat(4100)))).rejects.toMatchObject({
          code: EventBusFailureCode.NOTIFICATION_TOO_LARGE,
        });
        const small = runNotification();
        await bus.publish(small);
        await received.waitFor(small);

        expect(received.notifications).toEqual([small]);
      });

      it('refuses a notification that does not match the port shape before sending it', async () => {
        const bus = await PostgresEventBus.create(busOptions(url, uniqueChannel()));
        toClose.push(bus);
        const broken = { ...runNotification(), seq: Number.NaN };

        await expect(bus.publish(broken)).rejects.toMatchObject({ code: EventBusFailureCode.INVALID_NOTIFICATION });
      });

      it('rejects a channel name LISTEN and pg_notify would not agree on', () => {
        expect(() => new PostgresEventBus(busOptions(url, 'Events'))).toThrow(/lower-case SQL identifier/);
        expect(() => new PostgresEventBus(busOptions(url, 'a'.repeat(64)))).toThrow(/lower-case SQL identifier/);
      });

      it('listens again after its connection is killed', async () => {
        const channel = uniqueChannel();
        const { logger, lines } = capturingLogger();
        const bus = await PostgresEventBus.create({ url, channel, logger });
        toClose.push(bus);
        const received = new Received();
        bus.subscribe(received.listener);
        const sql = rawSql();

        const killed = await sql`
          select pg_terminate_backend(pid) as done from pg_stat_activity
          where pid in (select pid from pg_stat_activity where query ilike ${'listen "' + channel + '"%'})`;
        expect(killed.length).toBe(1);
        await waitUntil(
          () => lines.some((line) => typeof line.msg === 'string' && line.msg.includes('listening again')),
          'the bus to listen again',
        );
        const sent = runNotification();
        await bus.publish(sent);
        await received.waitFor(sent);
      });

      it('leaves no connection behind once closed', async () => {
        const applicationName = `wfb-event-bus-test-${randomBytes(4).toString('hex')}`;
        const bus = await PostgresEventBus.create({ ...busOptions(url, uniqueChannel()), applicationName });
        await bus.publish(runNotification());
        const sql = rawSql();
        const busBackends = async () =>
          (await sql`select count(*)::int as n from pg_stat_activity where application_name = ${applicationName}`)[0]?.n;
        // The listening connection and the one pg_notify went out on.
        expect(await busBackends()).toBe(2);

        await bus.close();

        const deadline = Date.now() + 5_000;
        let remaining = await busBackends();
        while (remaining !== 0 && Date.now() < deadline) {
          await sleep(20);
          remaining = await busBackends();
        }
        expect(remaining).toBe(0);
      });

      it('fails to start against an unreachable server, and still closes in time', async () => {
        const bus = new PostgresEventBus({ ...busOptions('postgres://postgres@127.0.0.1:1/none', uniqueChannel()) });
        await expect(bus.start()).rejects.toThrow();
        const started = Date.now();
        await bus.close();
        expect(Date.now() - started).toBeLessThan(3_000);
      });
    });
  },
);
