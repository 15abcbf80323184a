import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startApp } from './app.js';

/** Starts the server from the environment and stops it cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  const app = await startApp({ config, logger });
  const where = { database: app.database.embedded ? `embedded (${config.DATA_DIR})` : 'postgres', role: config.ROLE };
  if (config.ROLE === 'worker') {
    logger.info({ ...where, health: app.url.replace(/\/graphql$/, '/healthz') }, 'Workflow Builder is running as a worker');
  } else {
    logger.info({ ...where, url: app.url }, `Workflow Builder is serving GraphQL at ${app.url}`);
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
