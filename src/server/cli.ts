import { emitSchema } from './emit-schema.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from '../persistence/database.js';
import { ApiKeyRepository } from '../persistence/api-key.repository.js';
import { ApiKeyService } from '../services/api-key.service.js';

const USAGE = `Usage:
  node dist/src/server/cli.js schema [--check]        write (or check) schema/schema.graphql
  node dist/src/server/cli.js create-workspace NAME   create a workspace and print its first API key`;

/** Operator commands that need no running server. */
async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'schema': {
      const check = rest.includes('--check');
      const ok = await emitSchema('schema/schema.graphql', check);
      if (!ok) {
        console.error('schema/schema.graphql is stale: run `npm run schema` and commit the result');
        return 1;
      }
      console.log(check ? 'schema/schema.graphql is up to date' : 'wrote schema/schema.graphql');
      return 0;
    }
    case 'create-workspace': {
      const name = rest.join(' ').trim();
      if (!name) {
        console.error(USAGE);
        return 2;
      }
      const config = loadConfig();
      const database = await openDatabase({
        url: config.DATABASE_URL,
        dataDir: config.DATA_DIR,
        poolSize: 2,
      });
      try {
        const { workspace, key } = await new ApiKeyService({ store: new ApiKeyRepository(database.db) }).createWorkspace(name);
        console.log(`Workspace: ${workspace.name} (${workspace.id})\nAPI key (shown only once): ${key.secret}`);
        return 0;
      } finally {
        await database.close();
      }
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
