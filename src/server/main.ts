import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { startApp } from './app.js';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** Starts the server from the environment and stops it cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.LOG_LEVEL, config.LOG_FORMAT);
  const app = await startApp({ config, logger });
  const where = { database: app.database.embedded ? `embedded (${config.DATA_DIR})` : 'postgres', role: config.ROLE };
  if (config.ROLE === 'worker') {
    logger.info({ ...where, health: app.url.replace(/\/graphql$/, '/healthz') }, 'Workflow Builder is running as a worker');
  } else {
    logger.info({ ...where, url: app.url }, `Workflow Builder is serving GraphQL at ${app.url}`);
  }
  if (app.firstApiKey) {
    // Plain text on stderr, never inside a log line: stdout stays one JSON object per line for
    // collectors, and the secret does not land in them.
    process.stderr.write(
      `\n  Your API key (shown only once, keep it):\n\n    ${app.firstApiKey.secret}\n\n` +
        `  Send it as "Authorization: Bearer <key>". Create more with the createApiKey mutation.\n\n`,
    );
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    try {
      await app.stop();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error while stopping');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('Workflow Builder failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
