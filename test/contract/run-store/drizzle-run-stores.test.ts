import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../../src/persistence/database.js';
import { RunCommandRepository } from '../../../src/persistence/run-command.repository.js';
import { RunFeedRepository } from '../../../src/persistence/run-feed.repository.js';
import { RunQueryRepository } from '../../../src/persistence/run-query.repository.js';
import { RunSweepRepository } from '../../../src/persistence/run-sweep.repository.js';
import { WaitRepository } from '../../../src/persistence/wait.repository.js';
import { testDatabaseUrl } from '../../support/test-server.js';
import { describeRunCommandContract } from './run-command.contract.js';
import { describeRunFeedContract } from './run-feed.contract.js';
import { describeRunQueryContract } from './run-query.contract.js';
import type { MakeRunStores } from './run-store-harness.js';
import { describeRunSweepContract } from './run-sweep.contract.js';
import { describeWaitContract } from './wait.contract.js';

/** The drizzle repositories on the suite's database: real Postgres when configured, else an embedded one. */
const makeDrizzleRunStores: MakeRunStores = async () => {
  const url = testDatabaseUrl();
  const dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'wfb-runstores-'));
  const database = await openDatabase({ url, dataDir: dataDir ?? '', poolSize: 4 });
  const scopes: string[] = [];
  return {
    commands: new RunCommandRepository(database.db, database.sql),
    queries: new RunQueryRepository(database.db),
    feed: new RunFeedRepository(database.db),
    sweep: new RunSweepRepository(database.db),
    waits: new WaitRepository(database.db),
    async newScope(options) {
      const workspaceId = randomUUID();
      const workflowId = randomUUID();
      const status = options?.status ?? 'DRAFT';
      await database.sql`insert into workspaces (id, name) values (${workspaceId}, 'run store contract')`;
      await database.sql`insert into workflows (id, workspace_id, name, status, latest_version)
        values (${workflowId}, ${workspaceId}, 'run store contract', ${status}, ${status === 'DRAFT' ? null : 1})`;
      scopes.push(workspaceId);
      return { workspaceId, workflowId };
    },
    async nameFailureHandler(scope) {
      const handlerId = randomUUID();
      await database.sql`insert into workflows (id, workspace_id, name, status, latest_version)
        values (${handlerId}, ${scope.workspaceId}, 'handler', 'ACTIVE', 1)`;
      await database.sql`insert into workflow_versions (workflow_id, version, graph, draft_revision, failure_handler_workflow_id)
        values (${scope.workflowId}, 1, '{"steps":[],"edges":[]}'::jsonb, 1, ${handlerId})`;
      return handlerId;
    },
    async close() {
      // A shared database is left as it was found: the workspaces cascade to everything made in them.
      if (url && scopes.length > 0) await database.sql`delete from workspaces where id in ${database.sql(scopes)}`;
      await database.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

const where = testDatabaseUrl() ? 'drizzle on real Postgres' : 'drizzle on the embedded database';
describeRunCommandContract(where, makeDrizzleRunStores);
describeRunQueryContract(where, makeDrizzleRunStores);
describeRunFeedContract(where, makeDrizzleRunStores);
describeRunSweepContract(where, makeDrizzleRunStores);
describeWaitContract(where, makeDrizzleRunStores);
