import { MongoClient } from '@agendajs/mongo-backend';
import { afterAll, describe } from 'vitest';
import { AgendaStepScheduler } from '../../../src/scheduler/agenda-step-scheduler.js';
import { describeStepSchedulerContract } from './step-scheduler.contract.js';
import { testLogger, uniqueStoreName } from './scheduler-test-support.js';

const mongoUrl = process.env.MONGODB_URL;

describe.skipIf(!mongoUrl)(
  'Agenda on MongoDB (skipped: set MONGODB_URL to run against MongoDB; no MongoDB server exists on this machine)',
  () => {
    const collection = uniqueStoreName('agendaTest');
    const logger = testLogger();

    afterAll(async () => {
      if (!mongoUrl) return;
      const client = await MongoClient.connect(mongoUrl);
      try {
        for (const name of [collection, `${collection}Logs`]) {
          await client.db().collection(name).drop().catch(() => {});
        }
      } finally {
        await client.close();
      }
    });

    const make = async () => {
      if (!mongoUrl) throw new Error('MONGODB_URL is not set');
      const scheduler = new AgendaStepScheduler({
        backend: 'mongo',
        mongoUrl,
        notifications: 'backend',
        logger,
        collection,
        stopTimeoutMs: 5_000,
      });
      return { scheduler, cleanup: () => scheduler.stop() };
    };

    describeStepSchedulerContract('Agenda on MongoDB', make, make);
  },
);
