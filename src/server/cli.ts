import { emitSchema } from './emit-schema.js';
import { ConfigError, loadConfig } from './config.js';
import { createApiKeyService } from './services.wiring.js';
import { openStorage } from './storage.wiring.js';

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
      // The server's own storage and key service, on a connection or two.
      const storage = await openStorage({ config, poolSize: 2 });
      try {
        const { workspace, key } = await createApiKeyService({ storage }).createWorkspace(name);
        console.log(`Workspace: ${workspace.name} (${workspace.id})\nAPI key (shown only once): ${key.secret}`);
        return 0;
      } finally {
        await storage.close();
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
