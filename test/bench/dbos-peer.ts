/**
 * DBOS Transact as a peer of the engine benchmark: the same two workloads (a chain run one
 * instance at a time, many instances at once) as durable DBOS workflows in this process, set up
 * as DBOS's documentation shows: `DBOS.setConfig` with a system database URL, `DBOS.launch()`,
 * a workflow from `DBOS.registerWorkflow` whose steps are `DBOS.registerStep` functions, each
 * checkpointed in the system database before the next one starts.
 *
 * Each step does what our steps do: the first is the trigger (returns the instance's input, no
 * I/O), every later one is an SMS to the sandbox, i.e. one insert into a table shaped like our
 * `outbound_messages` (made with `LIKE outbound_messages INCLUDING ALL`, so the same columns,
 * unique idempotency key and index), in our database, through a pool the size of ours.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DBOS, type DLogger } from '@dbos-inc/dbos-sdk';
import postgres from 'postgres';
import { BENCH_INPUT, mapBounded, since, uniqueTableName, type SqlRunner } from './bench-support.js';

/** When a DBOS step's body started and finished (`performance.now()`, taken inside the step). */
export interface DbosStepTiming {
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** What the peer was set up with, reported beside its figures. */
export interface DbosSetup {
  readonly sdk: string;
  readonly version: string;
  /** The system database: a database of its own on our Postgres server, made by `DBOS.launch()`. */
  readonly systemDatabase: string;
  readonly systemDatabasePoolSize: number;
  /** Where the steps' messages go (in our database) and the pool they go through. */
  readonly messagesTable: string;
  readonly messagesPoolSize: number;
  readonly workflow: string;
  readonly step: string;
}

/** Sequential runs of the chain workflow. */
export interface DbosChainSamples {
  readonly runs: number;
  /** A step's start to the next one's. */
  readonly periods: readonly number[];
  /** A step's body finished (before its checkpoint) to the next one's start. */
  readonly gaps: readonly number[];
  readonly wallMs: number;
}

/** Many workflows started at once. */
export interface DbosManyRuns {
  readonly startPhaseMs: number;
  readonly totalMs: number;
  readonly cpuMs: number;
}

export interface DbosPeer {
  readonly setup: DbosSetup;
  /** `runs` runs of a `length`-step workflow, each started when the one before returned. */
  runChain(args: { readonly runs: number; readonly length: number }): Promise<DbosChainSamples>;
  /** `instances` workflows of `steps` steps, `concurrency` `DBOS.startWorkflow` calls in flight, until all returned. */
  runMany(args: { readonly instances: number; readonly steps: number; readonly concurrency: number }): Promise<DbosManyRuns>;
  /** Checkpoints (DBOS's `operation_outputs` rows) and messages written so far: what was durably done. */
  written(): Promise<{ readonly checkpoints: number; readonly messages: number }>;
  /** Shuts DBOS down and drops what the peer made: its system database and the messages table. */
  stop(): Promise<void>;
}

export interface DbosPeerOptions {
  /** Our database: the messages table goes there, the system database beside it on the same server. */
  readonly databaseUrl: string;
  /** A client of our database, for the DDL (the messages table, dropping the system database). */
  readonly adminSql: SqlRunner;
  /** Connections of each of DBOS's pools (system database, messages): ours has this many. */
  readonly poolSize: number;
  readonly log: (message: string) => void;
}

const APP_NAME = 'workflow_builder_bench';

/**
 * The system database's name: DBOS's default pattern (`<application name>_dbos_sys`) on the
 * name of our database, so a bench on `test_x` uses `test_x_dbos_sys` and never another's.
 */
export function dbosSystemDatabaseName(databaseUrl: string): string {
  const ours = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  const name = `${ours}_dbos_sys`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`cannot derive a DBOS system database name from '${ours}'`);
  return name;
}

function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function sdkVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@dbos-inc/dbos-sdk');
  // The package's exports map hides package.json; its entry is dist/src/index.js.
  const manifest = JSON.parse(readFileSync(join(dirname(entry), '..', '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** DBOS logs info to stdout, which carries the bench's JSON: warnings and errors go to the bench's log. */
function benchLogger(log: (message: string) => void): DLogger {
  const text = (entry: unknown) => (entry instanceof Error ? (entry.stack ?? entry.message) : String(entry));
  return {
    info: () => {},
    debug: () => {},
    warn: (entry) => log(`dbos: ${text(entry)}`),
    error: (entry) => log(`dbos: ${text(entry)}`),
  };
}

const dropDatabase = (sql: SqlRunner, name: string) => sql.unsafe(`drop database if exists "${name}" with (force)`);

/**
 * Configures and launches DBOS on a fresh system database next to ours and registers the
 * benchmark's workflow. DBOS is a singleton: one peer at a time per process.
 */
export async function startDbosPeer(options: DbosPeerOptions): Promise<DbosPeer> {
  const { databaseUrl, adminSql, poolSize, log } = options;
  const systemDatabase = dbosSystemDatabaseName(databaseUrl);
  const systemDatabaseUrl = withDatabase(databaseUrl, systemDatabase);
  const table = uniqueTableName('bench_dbos_messages');
  // A system database left by a run that crashed would make DBOS recover that run's workflows.
  await dropDatabase(adminSql, systemDatabase);
  await adminSql.unsafe(`create table "${table}" (like outbound_messages including all)`);

  const messages = postgres(databaseUrl, { max: poolSize, onnotice: () => {} });
  const system = postgres(systemDatabaseUrl, { max: 1, onnotice: () => {} });
  let launched = false;
  const dropAll = async () => {
    if (launched) await DBOS.shutdown({ deregister: true });
    launched = false;
    await messages.end({ timeout: 5 });
    await system.end({ timeout: 5 });
    await adminSql.unsafe(`drop table if exists "${table}"`);
    await dropDatabase(adminSql, systemDatabase);
  };

  try {
    const trigger = DBOS.registerStep(
      async (input: typeof BENCH_INPUT) => {
        const startedAt = performance.now();
        return { output: input, startedAt, finishedAt: performance.now() };
      },
      { name: 'trigger.manual' },
    );
    const sendSms = DBOS.registerStep(
      async (args: { readonly step: number; readonly to: string; readonly name: string }) => {
        const startedAt = performance.now();
        const instanceId = DBOS.workflowID;
        if (instanceId === undefined) throw new Error('sms.send ran outside a workflow');
        const stepId = `s${args.step}`;
        const id = randomUUID();
        const text = `Hello ${args.name}, this is message ${args.step}`;
        const [row] = await messages<{ id: string; provider_message_id: string }[]>`
          insert into ${messages(table)}
            (id, instance_id, step_id, channel, kind, recipient, text, provider, provider_message_id, status, idempotency_key)
          values (${id}, ${instanceId}, ${stepId}, 'sms', 'message', ${args.to}, ${text}, 'sandbox', ${`sandbox-${id}`}, 'sent',
                  ${`${instanceId}:${stepId}`})
          on conflict (idempotency_key) do nothing
          returning id, provider_message_id`;
        return { output: { providerMessageId: row?.provider_message_id ?? null, to: args.to, text }, startedAt, finishedAt: performance.now() };
      },
      { name: 'sms.send' },
    );
    const chain = DBOS.registerWorkflow(
      async (input: typeof BENCH_INPUT, length: number): Promise<DbosStepTiming[]> => {
        const first = await trigger(input);
        const timings: DbosStepTiming[] = [first];
        for (let step = 1; step < length; step++) {
          const sent = await sendSms({ step, to: first.output.phone, name: first.output.name });
          timings.push(sent);
        }
        return timings.map(({ startedAt, finishedAt }) => ({ startedAt, finishedAt }));
      },
      { name: 'benchChain' },
    );

    DBOS.setConfig({
      name: APP_NAME,
      applicationVersion: '1',
      systemDatabaseUrl,
      systemDatabasePoolSize: poolSize,
      logger: benchLogger(log),
    });
    await DBOS.launch();
    launched = true;

    const count = async <T extends Record<string, unknown>>(query: Promise<T[]>, column: keyof T): Promise<number> =>
      Number((await query)[0]?.[column] ?? 0);

    return {
      setup: {
        sdk: '@dbos-inc/dbos-sdk',
        version: sdkVersion(),
        systemDatabase,
        systemDatabasePoolSize: poolSize,
        messagesTable: table,
        messagesPoolSize: poolSize,
        workflow: 'DBOS.registerWorkflow, called directly for a chain run, DBOS.startWorkflow for many at once',
        step: 'DBOS.registerStep: trigger.manual returns the input; sms.send inserts the message (as our sandbox does), then DBOS checkpoints the step',
      },
      async runChain({ runs, length }) {
        const periods: number[] = [];
        const gaps: number[] = [];
        const started = performance.now();
        for (let i = 0; i < runs; i++) {
          const timings = await chain(BENCH_INPUT, length);
          if (timings.length !== length) throw new Error(`a DBOS chain ran ${timings.length} of ${length} steps`);
          for (let s = 1; s < length; s++) {
            periods.push(timings[s]!.startedAt - timings[s - 1]!.startedAt);
            gaps.push(timings[s]!.startedAt - timings[s - 1]!.finishedAt);
          }
        }
        return { runs, periods, gaps, wallMs: since(started) };
      },
      async runMany({ instances, steps, concurrency }) {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const handles = await mapBounded(instances, concurrency, () => DBOS.startWorkflow(chain)(BENCH_INPUT, steps));
        const startPhaseMs = since(t0);
        const results = await Promise.all(handles.map((h) => h.getResult()));
        const totalMs = since(t0);
        const used = process.cpuUsage(cpu0);
        const short = results.find((r) => r.length !== steps);
        if (short) throw new Error(`a DBOS workflow ran ${short.length} of ${steps} steps`);
        return { startPhaseMs, totalMs, cpuMs: (used.user + used.system) / 1000 };
      },
      async written() {
        return {
          checkpoints: await count(system<{ n: string }[]>`select count(*) as n from dbos.operation_outputs`, 'n'),
          messages: await count(messages<{ n: string }[]>`select count(*) as n from ${messages(table)}`, 'n'),
        };
      },
      stop: dropAll,
    };
  } catch (err) {
    await dropAll().catch((cleanup: unknown) => log(`dbos: cleanup after a failed start failed: ${String(cleanup)}`));
    throw err;
  }
}
