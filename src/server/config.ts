import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import type { TrustProxy } from '../http/client-address.js';
import { configureVendors, type MessagingSetup, type MessagingVendor } from '../providers/messaging-vendor.js';
import { messagingVendors } from '../providers/vendors.js';

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

/** TRUST_PROXY as Express's `trust proxy` takes it; see TrustProxy. */
const trustProxy = z.string().transform((value, ctx): TrustProxy => {
  const v = value.trim().toLowerCase();
  if (v === 'false' || v === 'no') return false;
  if (v === 'true' || v === 'yes') return true;
  if (/^\d+$/.test(v)) return Number(v);
  const list = value.split(',').map((p) => p.trim()).filter(Boolean);
  try {
    proxyaddr.compile(list);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `must be true, false, a hop count, or addresses/CIDRs: ${err instanceof Error ? err.message : String(err)}` });
    return z.NEVER;
  }
  return list;
});

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
  /** `pretty`: one readable line per entry; `json`: one JSON object per line; `auto`: pretty when stdout is a terminal. */
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
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
  /** A worker holds a running step this long, extending it while it works; a crashed worker's step is retaken after it. */
  STEP_LEASE_MS: int(1000, 600_000).default(30_000),
  /** Longest one attempt of one step may run. */
  STEP_TIMEOUT_MS: int(1000, 3_600_000).default(300_000),
  /** How often workers look for due work without a job and for steps of crashed workers. */
  SWEEP_INTERVAL_MS: int(100, 600_000).default(5_000),
  /** How overdue a step must be before the sweep re-enqueues it. */
  SWEEP_GRACE_MS: int(0, 600_000).default(10_000),
  /**
   * How far back the sweep looks for failed instances whose failure handler was never started (a
   * worker that died right after the failure); older failures are left as they are.
   */
  FAILURE_HANDLER_RECOVERY_WINDOW_MS: int(60_000, 30 * 24 * 3_600_000).default(24 * 3_600_000),
  /** Steps one worker process runs at once. */
  WORKER_CONCURRENCY: int(1, 1000).default(50),
  /**
   * On SIGTERM/SIGINT a worker stops taking steps and waits this long for the running ones; those
   * still running then are handed back for another worker to run again at once.
   */
  SHUTDOWN_GRACE_MS: int(0, 3_600_000).default(20_000),
  /** This process's worker name in leases and step start events. Unset: host, process id and a random suffix. */
  WORKER_NAME: z
    .string()
    .regex(/^[\x21-\x7e]{1,100}$/, 'must be 1 to 100 visible ASCII characters')
    .optional(),
  // --- Events (sendEvent, wait.forEvent) ---
  /**
   * How long an event that no instance waits for yet is kept: an instance that reaches a
   * wait.forEvent for it within this time takes it at once.
   */
  EVENT_RETENTION_MS: int(1_000, 30 * 24 * 3_600_000).default(24 * 3_600_000),
  /** Most kept events (sent, not yet taken, not expired) of one workspace, event name and key. */
  EVENT_MAX_PENDING_PER_KEY: int(1, 100_000).default(100),
  /** Most kept events of one workspace, all names and keys together. */
  EVENT_MAX_PENDING_PER_WORKSPACE: int(1, 10_000_000).default(100_000),
  /** Largest event payload, as bytes of JSON. */
  EVENT_MAX_PAYLOAD_BYTES: int(2, 10_000_000).default(64 * 1024),
  /** Largest trigger input accepted by startWorkflow, as bytes of JSON. */
  MAX_INPUT_BYTES: int(2, 50_000_000).default(256 * 1024),
  /** The table (Postgres) or collection (MongoDB) holding step jobs; every process of one deployment must use the same. */
  SCHEDULER_TABLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,50}$/, 'must be a lower-case identifier')
    .default('agenda_jobs'),
  /**
   * How often each worker polls for due jobs that no notification announced (MongoDB, other
   * processes), and for schedules another process published or moved on.
   */
  SCHEDULER_POLL_MS: int(50, 600_000).default(1_000),
  /** Least time between two ticks of one schedule trigger; cron expressions and intervals that fire more often are refused. */
  SCHEDULE_MIN_INTERVAL_MS: int(1_000, 86_400_000).default(60_000),
  /**
   * A schedule tick that no worker fired within this long of its time (every worker down, or far
   * behind) counts as missed: the workflow's `missedTicks` policy decides whether it runs.
   */
  SCHEDULE_MISSED_AFTER_MS: int(1_000, 86_400_000).default(60_000),
  /** Let http.request steps reach loopback and private networks (self-hosted services). Link-local and metadata stay refused. */
  HTTP_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  /** Comma-separated hosts, IPs or CIDRs that http.request may always reach. */
  HTTP_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((h) => h.trim()).filter(Boolean)),
  HTTP_MAX_REDIRECTS: int(0, 20).default(5),
  /**
   * The header in which http.request steps send their idempotency key (the same for every re-send
   * of one step of one run). `none` sends no key.
   */
  HTTP_IDEMPOTENCY_HEADER: z
    .string()
    .regex(/^(none|[!#$%&'*+\-.^_`|~0-9A-Za-z]+)$/, 'must be a header name, or none')
    .default('Idempotency-Key'),
  /** Time one messaging vendor API call may take. Each vendor's own settings are declared with the vendor. */
  MESSAGING_TIMEOUT_MS: int(100, 300_000).default(15_000),
  /** A WebSocket that has not authenticated (connection_init with an API key) by then is closed. */
  WS_AUTH_TIMEOUT_MS: int(100, 60_000).default(3_000),
  MAX_SUBSCRIPTIONS_PER_SOCKET: int(1, 10_000).default(100),
  MAX_SOCKETS_PER_API_KEY: int(1, 100_000).default(1_000),
  /**
   * Failed API-key attempts (unknown or revoked keys) one client address may make per
   * AUTH_FAILURE_WINDOW_MS, over HTTP and WebSocket together; past it, its unknown keys are refused
   * with RATE_LIMITED until the window ends, without being looked up. Keys that work are never counted.
   */
  AUTH_FAILURE_LIMIT: int(1, 1_000_000).default(60),
  AUTH_FAILURE_WINDOW_MS: int(1_000, 86_400_000).default(60_000),
  /** Proxies whose X-Forwarded-For names the client address (see TrustProxy). Default: none, the socket's peer is the client. */
  TRUST_PROXY: trustProxy.default(false),
  /** Events buffered per subscription; a subscriber further behind is stopped and told to resume with `since`. */
  SUBSCRIPTION_BUFFER: int(10, 1_000_000).default(5_000),
  /**
   * Open streams re-read the log, and open sockets re-check their keys, this often even without a
   * notification, in case one was lost.
   */
  REALTIME_POLL_MS: int(100, 600_000).default(5_000),
  /**
   * Least time between two reads of a workflow's live stream: under a steady flow of events, each
   * read's events go out to every socket together, and sending cannot take the whole event loop.
   */
  REALTIME_ROUND_MS: int(0, 1_000).default(25),
  /** Create a default workspace and print an API key when the database has no workspace. */
  BOOTSTRAP_API_KEY: bool.default(true),
  /** Deepest selection nesting a GraphQL operation may have (introspection's `__schema` is not counted). */
  GRAPHQL_MAX_DEPTH: int(1, 1_000).default(12),
  /** Most aliased fields in one GraphQL operation, fragments included. */
  GRAPHQL_MAX_ALIASES: int(0, 100_000).default(30),
  /**
   * Highest estimated cost of one GraphQL operation: each field costs 1 (2 with a selection), nested
   * fields weigh 1.5x per level, and a list's page size multiplies its subtree, whether `first` is
   * written in the document, given as a variable or left to its default.
   */
  GRAPHQL_MAX_COST: int(1, 1_000_000_000).default(100_000),
  /** Most directives in one GraphQL operation. */
  GRAPHQL_MAX_DIRECTIVES: int(0, 100_000).default(50),
  /** Most lexical tokens in one GraphQL document; parsing stops past it. */
  GRAPHQL_MAX_TOKENS: int(100, 10_000_000).default(10_000),
  /** Largest GraphQL request body (HTTP) or message (WebSocket), in bytes. */
  GRAPHQL_MAX_BODY_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
  /**
   * Largest answer of one GraphQL execution (an operation, or one event of a subscription), as
   * JSON bytes. The ceiling keeps well below the longest string V8 can build.
   */
  GRAPHQL_MAX_RESPONSE_BYTES: int(1024, 256 * 1024 * 1024).default(16 * 1024 * 1024),
  /** Schema introspection over HTTP and WebSocket. Unset: on, except when NODE_ENV=production. */
  GRAPHQL_INTROSPECTION: bool.optional(),
  /** The GraphiQL playground at GET /graphql from a browser. Unset: on, except when NODE_ENV=production. */
  GRAPHQL_PLAYGROUND: bool.optional(),
  // --- Webhooks and inbound channels (src/http) ---
  /** The origin callers reach this server on, used in webhook URLs and to check Twilio signatures. Unset: `http://localhost:<port>`. */
  PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/ })
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  /** Largest request body accepted by the webhook and inbound endpoints. */
  WEBHOOK_MAX_BODY_BYTES: int(1024, 50_000_000).default(1024 * 1024),
  /** How far the timestamp of a signed webhook call may be from now, either way. */
  WEBHOOK_SIGNATURE_TOLERANCE_S: int(1, 86_400).default(300),
  /** Accept inbound channel calls without a provider secret to check them (local development only). */
  INBOUND_ALLOW_UNSIGNED: bool.default(false),
  /**
   * A process holds a stored inbound delivery this long while it processes it, extending the hold as
   * it goes; one that died leaves its deliveries to the others after it. Each API process also looks
   * for such deliveries every half of it.
   */
  INBOUND_LEASE_MS: int(500, 600_000).default(30_000),
  /** Messages of one inbound delivery handled at once (each may start several instances). */
  INBOUND_CONCURRENCY: int(1, 100).default(4),
});

/**
 * The validated configuration: the server's settings, and the messaging vendors bound to theirs
 * (each vendor declares its own environment variables, see `src/providers/vendors.ts`).
 */
export type Config = z.infer<typeof envSchema> & { readonly messaging: MessagingSetup };

export interface LoadConfigOptions {
  /** The messaging vendors whose settings to read; defaults to the built-in ones. */
  readonly vendors?: readonly MessagingVendor[];
}

const serverVariables: ReadonlySet<string> = new Set(Object.keys(envSchema.shape));

/** Parses the environment; throws ConfigError naming each bad variable, the vendors' included. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const cleaned: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') cleaned[name] = value;
  const result = envSchema.safeParse(cleaned);
  const vendors = configureVendors(options.vendors ?? messagingVendors, cleaned, serverVariables);
  const problems = [
    ...(result.success
      ? []
      : result.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(environment)'), message: issue.message }))),
    ...vendors.problems,
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return { ...result.data, messaging: vendors.setup };
}
