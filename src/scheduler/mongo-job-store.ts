import { MongoBackend, MongoJobRepository } from '@agendajs/mongo-backend';
import { ObjectId } from 'mongodb';
import { errorCode, type JobStore } from './job-store.js';
import { STEP_JOB_NAME } from './step-job.js';

export interface OpenMongoJobStoreOptions {
  readonly url: string;
  readonly collection: string;
}

const DUPLICATE_KEY = 11000;

/**
 * Connects Agenda's MongoDB backend. MongoDB offers no notification channel to Agenda, so other
 * processes find new jobs by polling.
 */
export async function openMongoJobStore(options: OpenMongoJobStoreOptions): Promise<JobStore> {
  const backend = new MongoBackend({
    address: options.url,
    collection: options.collection,
    // The backend indexes its log collection on connect even with logging off; keep it beside ours.
    logCollection: `${options.collection}Logs`,
  });
  try {
    await backend.connect();
    const repository = backend.repository;
    if (!(repository instanceof MongoJobRepository)) throw new Error('unexpected MongoDB job repository');
    const jobs = repository.getDb().collection(options.collection);
    // One job per step run even under concurrent upserts (MongoDB retries an upsert that hits this).
    await jobs.createIndex(
        { name: 1, 'data.stepRunId': 1 },
        { name: 'stepRunUnique', unique: true, partialFilterExpression: { name: STEP_JOB_NAME } },
      );
    return {
      name: backend.name,
      repository,
      remoteChannel: undefined,
      isUpsertRace: (error) => errorCode(error) === DUPLICATE_KEY,
      removeIfNotRescheduled: async (id, owner) => {
        const result = await jobs.deleteOne({ _id: new ObjectId(id), lastModifiedBy: owner });
        return result.deletedCount === 1;
      },
      close: () => backend.disconnect(),
    };
  } catch (err) {
    await backend.disconnect().catch(() => {});
    throw err;
  }
}
