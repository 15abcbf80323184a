import { z } from 'zod';
import type { MessagingChannel, MessagingProvider } from '../ports/messaging-provider.port.js';
import type { DeliveryLedgerOptions } from './delivery-ledger.js';

/** What every vendor's `create` is given: where to record what it sends, and how to call out. */
export interface MessagingVendorDeps extends DeliveryLedgerOptions {
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Time one vendor API call may take (`MESSAGING_TIMEOUT_MS`). */
  readonly timeoutMs: number;
}

/** One environment variable that failed validation, and why. */
export interface SettingProblem {
  readonly variable: string;
  readonly message: string;
}

/** The environment as settings are read from it: set variables only (empty counts as unset). */
export type SettingsSource = Readonly<Record<string, string>>;

/**
 * The declaration of one messaging vendor, as written at the end of its `*-messaging.provider.ts`
 * file. Registered with one line in `src/providers/vendors.ts`.
 */
export interface MessagingVendorSpec<Settings extends z.ZodObject> {
  /** Recorded as the `provider` of everything it sends; lower-case. */
  readonly name: string;
  readonly displayName: string;
  /** The channels it carries once set up; without it, the sandbox records them. */
  readonly channels: readonly MessagingChannel[];
  /** The channels on which it can like a message (its provider then offers `likeMessage`). */
  readonly reactions?: readonly MessagingChannel[];
  /**
   * Its environment variables: keys are the variable names, each field with a description
   * (`.meta({ description })`) and its default. Validated with the rest of the configuration at
   * start, so a bad value stops the server with a message naming the variable; a refinement whose
   * issue has a `path` names that variable.
   */
  readonly settings: Settings;
  /** Builds its provider; `undefined` when the settings leave it off (its channels go to the sandbox). */
  create(settings: z.output<Settings>, deps: MessagingVendorDeps): MessagingProvider | undefined;
}

/** A vendor bound to the settings a deployment gave it. */
export interface ConfiguredVendor {
  readonly name: string;
  readonly displayName: string;
  readonly channels: readonly MessagingChannel[];
  readonly reactions: readonly MessagingChannel[];
  /** Its provider, or `undefined` when it is not set up. */
  create(deps: MessagingVendorDeps): MessagingProvider | undefined;
}

/** What reading a vendor's settings from the environment gave. */
export type VendorSetup<S> =
  | { readonly ok: true; readonly settings: S; readonly vendor: ConfiguredVendor }
  | { readonly ok: false; readonly problems: readonly SettingProblem[] };

/** A registered messaging vendor (see {@link defineMessagingVendor}); `S` is its parsed settings. */
export interface MessagingVendor<S extends object = object> {
  readonly name: string;
  readonly displayName: string;
  readonly channels: readonly MessagingChannel[];
  readonly reactions: readonly MessagingChannel[];
  /** The names of its environment variables. */
  readonly variables: readonly string[];
  /** Its settings schema (for documentation; use {@link MessagingVendor.configure} to read them). */
  readonly settingsSchema: z.ZodObject;
  /** Reads and checks its settings from the environment. */
  configure(env: SettingsSource): VendorSetup<S>;
}

const VENDOR_NAME = /^[a-z][a-z0-9-]{0,40}$/;

/** Builds a {@link MessagingVendor} from its declaration. */
export function defineMessagingVendor<Settings extends z.ZodObject>(
  spec: MessagingVendorSpec<Settings>,
): MessagingVendor<z.output<Settings>> {
  if (!VENDOR_NAME.test(spec.name)) throw new Error(`Messaging vendor name '${spec.name}' must be lower-case letters, digits and dashes`);
  const reactions = spec.reactions ?? [];
  const unknownReaction = reactions.find((channel) => !spec.channels.includes(channel));
  if (unknownReaction !== undefined) {
    throw new Error(`Messaging vendor '${spec.name}' reacts on '${unknownReaction}', which is not one of its channels`);
  }
  const identity = { name: spec.name, displayName: spec.displayName, channels: spec.channels, reactions };
  return {
    ...identity,
    variables: Object.keys(spec.settings.shape),
    settingsSchema: spec.settings,
    configure(env) {
      const parsed = spec.settings.safeParse(env);
      if (!parsed.success) {
        return {
          ok: false,
          problems: parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? spec.name), message: issue.message })),
        };
      }
      const settings = parsed.data;
      return { ok: true, settings, vendor: { ...identity, create: (deps) => spec.create(settings, deps) } };
    },
  };
}

/**
 * The messaging vendors of a deployment, bound to the settings it gave them (part of the validated
 * configuration, see `loadConfig`).
 */
export interface MessagingSetup {
  /** In registration order: for a channel carried by two vendors that are set up, the first wins. */
  readonly vendors: readonly ConfiguredVendor[];
  /** A vendor's parsed settings (registered or not); they were checked with the rest of the configuration. */
  settingsOf<S extends object>(vendor: MessagingVendor<S>): S;
}

/**
 * Reads every vendor's settings from the environment; `problems` lists every bad variable.
 * @throws Error when two vendors share a name or a variable, or a variable is in `reserved`.
 */
export function configureVendors(
  vendors: readonly MessagingVendor[],
  env: SettingsSource,
  reserved: ReadonlySet<string> = new Set(),
): { readonly setup: MessagingSetup; readonly problems: readonly SettingProblem[] } {
  const names = new Set<string>();
  const owners = new Map<string, string>();
  for (const vendor of vendors) {
    if (names.has(vendor.name)) throw new Error(`Messaging vendor '${vendor.name}' is registered twice`);
    names.add(vendor.name);
    for (const variable of vendor.variables) {
      const owner = reserved.has(variable) ? 'the server' : owners.get(variable);
      if (owner !== undefined) throw new Error(`${variable} of messaging vendor '${vendor.name}' is already a setting of ${owner}`);
      owners.set(variable, `messaging vendor '${vendor.name}'`);
    }
  }
  const configured: ConfiguredVendor[] = [];
  const problems: SettingProblem[] = [];
  for (const vendor of vendors) {
    const setup = vendor.configure(env);
    if (setup.ok) configured.push(setup.vendor);
    else problems.push(...setup.problems);
  }
  const setup: MessagingSetup = {
    vendors: configured,
    settingsOf(vendor) {
      // Parsing is pure and cheap, and keeps each vendor's settings typed by its own schema.
      const read = vendor.configure(env);
      if (!read.ok) throw new Error(`The settings of messaging vendor '${vendor.name}' are invalid: ${read.problems.map((p) => p.variable).join(', ')}`);
      return read.settings;
    },
  };
  return { setup, problems };
}
