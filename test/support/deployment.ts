import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { repoRoot, RoleProcess } from './role-process.js';

const run = promisify(execFile);

/** A step of a workflow as `applyEdits` adds it. */
export interface StepSpec {
  readonly id: string;
  readonly type: string;
  readonly config?: Record<string, unknown>;
}

export interface DeploymentOptions {
  /** Any database URL of the Postgres server to run on; the deployment makes a database of its own there. */
  readonly serverUrl: string;
  /** Settings of every process (on top of the database, the job table and `HTTP_ALLOW_PRIVATE_NETWORKS=true`). */
  readonly env?: Record<string, string>;
  /** Settings of the worker processes only. */
  readonly workerEnv?: Record<string, string>;
  /** ROLE=worker processes started with it (default 2). */
  readonly workers?: number;
}

/** Databases and job tables made by this process, dropped on exit even when a test ends badly. */
const databasesToDrop = new Map<string, string>();
process.once('exit', () => {
  for (const [name, adminUrl] of databasesToDrop) dropDatabaseSync(adminUrl, name);
});

const DATABASE_PREFIX = 'wfb_chaos_';

/**
 * A production-shaped deployment for black-box tests: one `ROLE=api` process and workers
 * (`ROLE=worker`), all OS processes on one Postgres database of their own (so no other test's
 * sweep takes their steps, nor theirs another's), driven only through GraphQL and read only
 * through SQL. {@link stop} kills every process and drops the database.
 */
export class Deployment {
  readonly workers: RoleProcess[] = [];
  /** Every process it ever started, including killed ones (their pids stay attributed). */
  readonly everyProcess: RoleProcess[] = [];
  readonly sql: postgres.Sql;
  private workerCount = 0;
  private stopped = false;

  private constructor(
    readonly databaseName: string,
    readonly databaseUrl: string,
    private readonly adminUrl: string,
    private readonly env: Record<string, string>,
    private readonly workerEnv: Record<string, string>,
    readonly api: RoleProcess,
    readonly client: GraphQLApi,
  ) {
    this.sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    this.everyProcess.push(api);
  }

  static async create(options: DeploymentOptions): Promise<Deployment> {
    const adminUrl = withDatabase(options.serverUrl, 'postgres');
    await dropOrphanDatabases(adminUrl);
    const databaseName = `${DATABASE_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      await admin`create database ${admin(databaseName)}`;
    } finally {
      await admin.end({ timeout: 5 });
    }
    databasesToDrop.set(databaseName, adminUrl);
    const databaseUrl = withDatabase(options.serverUrl, databaseName);
    const env = {
      DATABASE_URL: databaseUrl,
      SCHEDULER_TABLE: `agenda_jobs_t${process.pid}_${randomBytes(3).toString('hex')}`,
      HTTP_ALLOW_PRIVATE_NETWORKS: 'true',
      ...options.env,
    };
    let api: RoleProcess | undefined;
    try {
      // The API process applies the migrations; the workspace is made after, with the operator CLI.
      api = await RoleProcess.start({ name: 'api', env: { ...env, ROLE: 'api' } });
      const apiKey = await createWorkspace(databaseUrl);
      const deployment = new Deployment(databaseName, databaseUrl, adminUrl, env, options.workerEnv ?? {}, api, new GraphQLApi(api.url, apiKey));
      try {
        await Promise.all(Array.from({ length: options.workers ?? 2 }, () => deployment.addWorker()));
      } catch (err) {
        await deployment.stop();
        throw err;
      }
      return deployment;
    } catch (err) {
      if (api?.running) await api.kill9();
      await dropDatabase(adminUrl, databaseName);
      throw err;
    }
  }

  /** Starts another worker (`worker-1`, `worker-2`, ...) with the deployment's settings and `env`. */
  async addWorker(env: Record<string, string> = {}): Promise<RoleProcess> {
    const number = ++this.workerCount;
    const worker = await RoleProcess.start({ name: `worker-${number}`, env: { ...this.env, ...this.workerEnv, ...env, ROLE: 'worker' } });
    // In the order they were asked for, whichever started first.
    this.workers.push(worker);
    this.workers.sort((a, b) => workerNumber(a) - workerNumber(b));
    this.everyProcess.push(worker);
    if (this.stopped) await worker.kill9();
    return worker;
  }

  /** Workers still running. */
  get liveWorkers(): RoleProcess[] {
    return this.workers.filter((w) => w.running);
  }

  /** Pid to name of every process started, for a receiver's {@link CallReceiver.senders}. */
  processNames(): Map<number, string> {
    return new Map(this.everyProcess.map((p) => [p.pid, p.name]));
  }

  /** Creates and publishes a linear workflow of `steps` (the first is the trigger); returns its id. */
  async publishChain(name: string, steps: readonly StepSpec[]): Promise<string> {
    const { createWorkflow } = await this.client.request<{ createWorkflow: { id: string } }>(
      'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }',
      { input: { name } },
    );
    const workflowId = createWorkflow.id;
    const edits = steps.map((s, i) => ({
      addStep: { id: s.id, type: s.type, name: s.id, ...(s.config ? { config: s.config } : {}), ...(i > 0 ? { after: { stepId: steps[i - 1]!.id, port: 'next' } } : {}) },
    }));
    await this.client.request('mutation($id: ID!, $edits: [EditInput!]!) { applyEdits(workflowId: $id, edits: $edits) { label } }', { id: workflowId, edits });
    await this.client.request('mutation($id: ID!) { publishWorkflow(workflowId: $id) { version { version } } }', { id: workflowId });
    return workflowId;
  }

  /** Starts one instance per input, `concurrency` requests at a time; returns their ids in input order. */
  startInstances(workflowId: string, inputs: readonly Record<string, unknown>[], concurrency = 8): Promise<string[]> {
    return this.startEach(workflowId, { count: inputs.length, input: (i) => inputs[i]!, concurrency });
  }

  /** Starts `count` instances, each with the input `input(i)` makes as its request is sent (a due time relative to then, say). */
  async startEach(workflowId: string, options: { count: number; input: (i: number) => Record<string, unknown>; concurrency?: number }): Promise<string[]> {
    const ids = new Array<string>(options.count);
    let next = 0;
    const lane = async () => {
      while (next < options.count) {
        const i = next++;
        const { startWorkflow } = await this.client.request<{ startWorkflow: { instance: { id: string } } }>(
          'mutation($id: ID!, $input: JSON) { startWorkflow(workflowId: $id, input: $input) { instance { id } } }',
          { id: workflowId, input: options.input(i) },
        );
        ids[i] = startWorkflow.instance.id;
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, options.count) }, lane));
    return ids;
  }

  /** Kills every process (a stopped one too) and drops the database. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.everyProcess.filter((p) => p.running).map((p) => p.kill9()));
    await this.sql.end({ timeout: 5 }).catch(() => undefined);
    await dropDatabase(this.adminUrl, this.databaseName);
  }
}

const workerNumber = (p: RoleProcess): number => Number(p.name.slice('worker-'.length));

/** A minimal GraphQL-over-HTTP client: throws with the codes and messages of any errors. */
export class GraphQLApi {
  constructor(
    readonly url: string,
    private readonly apiKey: string,
  ) {}

  async request<T = unknown>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.apiKey}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    if (body.errors?.length) {
      throw new Error(`GraphQL ${res.status}: ${body.errors.map((e) => `${e.extensions?.code ?? '?'} ${e.message}`).join('; ')}`);
    }
    return body.data as T;
  }
}

/** Makes a workspace with the operator CLI (`cli.js create-workspace`) and returns its API key. */
async function createWorkspace(databaseUrl: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'dist', 'src', 'server', 'cli.js'), 'create-workspace', 'chaos'], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
  const key = /API key \(shown only once\): (\S+)/.exec(stdout)?.[1];
  if (!key) throw new Error(`create-workspace printed no key:\n${stdout}`);
  return key;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`drop database if exists ${admin(name)} with (force)`;
    databasesToDrop.delete(name);
  } catch {
    // The server may be gone (a Postgres-restart test drops its cluster anyway); the exit hook tries again.
  } finally {
    await admin.end({ timeout: 5 }).catch(() => undefined);
  }
}

function dropDatabaseSync(adminUrl: string, name: string): void {
  try {
    execFileSync('psql', [adminUrl, '-qAtc', `drop database if exists "${name}" with (force)`], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // psql missing or the server gone: the next run's orphan sweep drops it
  }
}

/** Drops databases left by runs whose process is gone (killed before its exit hook could run). */
async function dropOrphanDatabases(adminUrl: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`${DATABASE_PREFIX}%`}`;
    for (const { datname } of rows) {
      const pid = Number(/^wfb_chaos_(\d+)_/.exec(datname)?.[1]);
      if (pid && !processAlive(pid)) await admin`drop database if exists ${admin(datname)} with (force)`.catch(() => undefined);
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
