import type { ActionDefinition } from '../../../src/actions/action-definition.js';
import type { ActionInvocation, ActionResult, ActionServices } from '../../../src/ports/action.port.js';
import type { JsonObject, JsonValue } from '../../../src/domain/json.js';
import type { RunContext } from '../../../src/domain/run-context.js';
import type { WaitArrival } from '../../../src/domain/wait.js';
import type { Clock } from '../../../src/ports/clock.port.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../../src/ports/http-client.port.js';
import type {
  LikeMessageRequest,
  MessagingChannel,
  MessagingProvider,
  OutgoingMessage,
  SentMessage,
} from '../../../src/ports/messaging-provider.port.js';

/** Records what it is asked to send; can be told to fail. */
export class FakeMessagingProvider implements MessagingProvider {
  readonly sent: OutgoingMessage[] = [];
  readonly liked: LikeMessageRequest[] = [];
  failWith: unknown = undefined;

  constructor(readonly supportsLike = true) {}

  async sendMessage(message: OutgoingMessage): Promise<SentMessage> {
    if (this.failWith !== undefined) throw this.failWith;
    this.sent.push(message);
    return { providerMessageId: `pm-${this.sent.length}` };
  }

  get likeMessage(): ((request: LikeMessageRequest) => Promise<void>) | undefined {
    if (!this.supportsLike) return undefined;
    return async (request) => {
      if (this.failWith !== undefined) throw this.failWith;
      this.liked.push(request);
    };
  }
}

/** Answers every request with a canned response and records the requests. */
export class FakeHttpClient implements HttpClient {
  readonly requests: HttpRequest[] = [];
  constructor(public respond: (request: HttpRequest) => HttpResponse | Promise<HttpResponse>) {}

  async request(request: HttpRequest): Promise<HttpResponse> {
    this.requests.push(request);
    return this.respond(request);
  }
}

export const fixedClock = (iso: string): Clock => ({ now: () => new Date(iso) });

export const NOW = '2025-06-01T12:00:00.000Z';

/** The channels the kit has a fake provider for. */
export type KitChannel = 'instagram' | 'whatsapp' | 'sms';

export interface Kit {
  readonly providers: Record<KitChannel, FakeMessagingProvider>;
  readonly http: FakeHttpClient;
  readonly services: ActionServices;
}

export const makeKit = (options: { now?: string; http?: FakeHttpClient } = {}): Kit => {
  const providers: Record<KitChannel, FakeMessagingProvider> = {
    instagram: new FakeMessagingProvider(),
    whatsapp: new FakeMessagingProvider(false),
    sms: new FakeMessagingProvider(false),
  };
  const http = options.http ?? new FakeHttpClient(() => ({ status: 200, headers: {}, body: '', bodyEncoding: 'utf8', truncated: false }));
  return {
    providers,
    http,
    services: {
      messaging: (channel) => {
        if (!isKitChannel(channel, providers)) throw new Error(`The kit has no provider for channel '${channel}'`);
        return providers[channel];
      },
      http,
      clock: fixedClock(options.now ?? NOW),
    },
  };
};

const isKitChannel = (channel: MessagingChannel, providers: Record<KitChannel, FakeMessagingProvider>): channel is KitChannel =>
  Object.hasOwn(providers, channel);

export const makeContext = (trigger: JsonValue = {}, steps: RunContext['steps'] = {}): RunContext => ({
  trigger,
  steps,
  instance: { id: 'inst-1', workflowId: 'wf-1', version: 3, startedAt: NOW },
});

export interface RunOptions {
  readonly context?: RunContext;
  readonly kit?: Kit;
  readonly stepId?: string;
  readonly attempt?: number;
  readonly resumedAfterWait?: boolean;
  /** What ended the wait the run resumes (implies resumedAfterWait). */
  readonly arrival?: WaitArrival;
}

/** Checks the config like the editor would, then runs the step with it. */
export const runStep = async (
  definition: ActionDefinition,
  rawConfig: unknown,
  options: RunOptions = {},
): Promise<ActionResult> => {
  const check = definition.checkConfig(rawConfig);
  if (!check.ok) throw new Error(`config rejected: ${JSON.stringify(check.issues)}`);
  const invocation: ActionInvocation = {
    config: check.config,
    context: options.context ?? makeContext(),
    stepId: options.stepId ?? 'step1',
    attempt: options.attempt ?? 1,
    resumedAfterWait: options.resumedAfterWait ?? options.arrival !== undefined,
    ...(options.arrival ? { arrival: options.arrival } : {}),
    signal: new AbortController().signal,
    services: (options.kit ?? makeKit()).services,
  };
  return definition.run(invocation);
};

export const issuesOf = (definition: ActionDefinition, config: unknown): readonly { path: string; message: string }[] => {
  const check = definition.checkConfig(config);
  return check.ok ? [] : check.issues;
};

export const configOf = (definition: ActionDefinition, config: unknown): JsonObject => {
  const check = definition.checkConfig(config);
  if (!check.ok) throw new Error(`config rejected: ${JSON.stringify(check.issues)}`);
  return check.config;
};
