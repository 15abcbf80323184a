import { z } from 'zod';

/** Where a setting's value failed validation: the variable name and why. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly { variable: string; message: string }[]) {
    super(
      'Invalid configuration:\n' +
        problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Every setting that varies by deployment, read from the environment and validated at start.
 * Defaults fit the embedded single-process setup (`npm start` with nothing installed).
 */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Real Postgres. Unset: an embedded PGlite database persisted in DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  /** Connections the app's pool may open to real Postgres. */
  DATABASE_POOL_SIZE: int(1, 100).default(10),
  MONGODB_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URL')
    .optional(),
  ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Undo history entries kept per workflow; older ones are pruned. */
  HISTORY_DEPTH: int(1, 100_000).default(1000),
  /** Largest accepted step config, as bytes of its JSON. */
  MAX_STEP_CONFIG_BYTES: int(256, 10_000_000).default(64 * 1024),
  /** Most steps a workflow may hold. */
  MAX_STEPS_PER_WORKFLOW: int(1, 1_000_000).default(10_000),
  /** Most edit commands accepted in one applyEdits call. */
  MAX_EDITS_PER_BATCH: int(1, 100_000).default(5_000),
  /** Largest page a connection returns. */
  MAX_PAGE_SIZE: int(1, 10_000).default(500),
  /** Create a default workspace and print an API key when the database has no workspace. */
  BOOTSTRAP_API_KEY: bool.default(true),
});

export type Config = z.infer<typeof envSchema>;

/** Parses the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        message: issue.message,
      })),
    );
  }
  return result.data;
}
