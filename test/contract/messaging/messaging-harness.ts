import type { ServerResponse } from 'node:http';
import type { MessagingChannel, MessagingProvider } from '../../../src/ports/messaging-provider.port.js';
import type { OutboundMessageStore } from '../../../src/ports/outbound-message.store.port.js';
import { MetaMessagingProvider } from '../../../src/providers/meta-messaging.provider.js';
import { SandboxMessagingProvider } from '../../../src/providers/sandbox-messaging.provider.js';
import { TwilioMessagingProvider } from '../../../src/providers/twilio-messaging.provider.js';
import { sendJson } from '../../fixtures/local-http-server.js';

/**
 * How the messaging contract builds each adapter. This is the one place that knows the adapters'
 * constructors and settings: when the way vendors are declared changes, only this file follows.
 */
export interface MessagingAdapter {
  readonly name: string;
  /** A channel the adapter sends on, and a recipient valid there. */
  readonly channel: MessagingChannel;
  readonly recipient: string;
  /** Whether the adapter supports likes (on Instagram). */
  readonly likes: boolean;
  /** Absent for adapters that call no vendor (the sandbox). */
  readonly vendor?: VendorApi;
  build(options: { store: OutboundMessageStore; baseUrl: string; timeoutMs: number }): MessagingProvider;
}

/** What a fake vendor API answers, in the vendor's own format. */
export interface VendorApi {
  /** Answers an accepted send; `n` numbers the vendor's message ids. */
  accept(res: ServerResponse, n: number): void;
  /** Answers a refusal with this status and a generic vendor error body (no code that overrides the status). */
  refuse(res: ServerResponse, status: number): void;
  /** The vendor message id `accept` hands out for `n`. */
  messageId(n: number): string;
}

export const MESSAGING_ADAPTERS: readonly MessagingAdapter[] = [
  {
    name: 'sandbox',
    channel: 'sms',
    recipient: '+15550001111',
    likes: true,
    build: ({ store }) => new SandboxMessagingProvider({ store }),
  },
  {
    name: 'Twilio',
    channel: 'sms',
    recipient: '+15550001111',
    likes: false,
    vendor: {
      accept: (res, n) => sendJson(res, 201, { sid: `SM${n}`, status: 'queued' }),
      refuse: (res, status) => sendJson(res, status, { code: 20001, message: 'refused by the fake', status }),
      messageId: (n) => `SM${n}`,
    },
    build: ({ store, baseUrl, timeoutMs }) =>
      new TwilioMessagingProvider({ store, accountSid: 'ACcontract', authToken: 'token', smsFrom: '+15550009999', baseUrl, timeoutMs }),
  },
  {
    name: 'Meta',
    channel: 'instagram',
    recipient: 'igsid-contract',
    likes: true,
    vendor: {
      accept: (res, n) => sendJson(res, 200, { recipient_id: 'igsid-contract', message_id: `mid.${n}` }),
      // Code 100 (invalid parameter) is a plain refusal: the status alone decides.
      refuse: (res, status) => sendJson(res, status, { error: { message: 'refused by the fake', type: 'OAuthException', code: 100 } }),
      messageId: (n) => `mid.${n}`,
    },
    build: ({ store, baseUrl, timeoutMs }) => new MetaMessagingProvider({ store, pageAccessToken: 'token', igUserId: '1784', baseUrl, timeoutMs }),
  },
];
