import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError } from 'graphql';
import { ActionRegistry } from '../actions/action-registry.js';
import { builtinActions } from '../actions/builtin-actions.js';
import { AppError } from '../domain/errors.js';
import type { GraphQLContext } from '../graphql/context.js';
import { createErrorFormatter } from '../graphql/error-mapping.js';
import { createSchema } from '../graphql/schema.js';
import { ActionTypeResolver } from '../graphql/action-type/action-type.resolver.js';
import { ApiKeyResolver } from '../graphql/api-key/api-key.resolver.js';
import { WorkflowResolver } from '../graphql/workflow/workflow.resolver.js';
import { ApiKeyRepository } from '../persistence/api-key.repository.js';
import { openDatabase, type Database } from '../persistence/database.js';
import { WorkflowRepository } from '../persistence/workflow.repository.js';
import { ApiKeyService } from '../services/api-key.service.js';
import { WorkflowEditingService } from '../services/workflow-editing.service.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** A running server and what tests and the CLI need to reach into. */
export interface App {
  readonly url: string;
  readonly port: number;
  readonly database: Database;
  readonly apiKeys: ApiKeyService;
  readonly httpServer: Server;
  stop(): Promise<void>;
}

export interface AppOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Extra action types (tests register one to prove the registry is open). */
  readonly registry?: ActionRegistry;
}

/** The composition root: the only place concrete adapters are constructed and wired. */
export async function startApp({ config, logger, registry: givenRegistry }: AppOptions): Promise<App> {
  const database = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
  });
  try {
    const registry = givenRegistry ?? new ActionRegistry(builtinActions);
    const workflowStore = new WorkflowRepository(database.db);
    const apiKeyStore = new ApiKeyRepository(database.db);
    const apiKeys = new ApiKeyService(apiKeyStore);
    const editing = new WorkflowEditingService({
      store: workflowStore,
      catalog: registry,
      limits: {
        maxConfigBytes: config.MAX_STEP_CONFIG_BYTES,
        maxSteps: config.MAX_STEPS_PER_WORKFLOW,
        historyDepth: config.HISTORY_DEPTH,
        maxEditsPerBatch: config.MAX_EDITS_PER_BATCH,
      },
    });

    if (config.BOOTSTRAP_API_KEY) {
      const made = await apiKeys.bootstrap();
      if (made) {
        // Printed once, on first start of an empty database, so the quick start works.
        logger.warn(
          { workspaceId: made.workspace.id },
          `Created workspace '${made.workspace.name}' with API key: ${made.key.secret} (shown only once)`,
        );
      }
    }

    const schema = await createSchema({
      workflow: new WorkflowResolver({
        editing,
        store: workflowStore,
        catalog: registry,
        maxPageSize: config.MAX_PAGE_SIZE,
      }),
      actionType: new ActionTypeResolver(registry),
      apiKey: new ApiKeyResolver({ keys: apiKeys, store: apiKeyStore }),
    });

    const app = express();
    const httpServer = createServer(app);
    const apollo = new ApolloServer<GraphQLContext>({
      schema,
      formatError: createErrorFormatter(logger),
      includeStacktraceInErrorResponses: false,
      plugins: [ApolloServerPluginDrainHttpServer({ httpServer })],
    });
    await apollo.start();

    app.get('/healthz', async (_req, res) => {
      try {
        await database.sql`select 1`;
        res.json({ status: 'ok' });
      } catch {
        res.status(503).json({ status: 'unavailable' });
      }
    });
    app.use(
      '/graphql',
      express.json({ limit: '2mb' }),
      expressMiddleware(apollo, {
        context: async ({ req }) => {
          try {
            return { actor: await apiKeys.authenticate(req.headers.authorization) };
          } catch (err) {
            if (err instanceof AppError) {
              throw new GraphQLError(err.message, {
                extensions: { code: err.code, http: { status: 401 } },
              });
            }
            throw err;
          }
        },
      }),
    );

    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.PORT, config.HOST, () => resolve());
    });
    const address = httpServer.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const url = `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}/graphql`;

    let stopped = false;
    return {
      url,
      port,
      database,
      apiKeys,
      httpServer,
      async stop() {
        if (stopped) return;
        stopped = true;
        await apollo.stop();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
