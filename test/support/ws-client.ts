import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A real graphql-ws client over a real socket. */
export function wsClient(httpUrl: string, apiKey: string | undefined, options: { lazy?: boolean } = {}): Client {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    lazy: options.lazy ?? true,
    retryAttempts: 0,
  });
}

/** A running subscription that collects what arrives. */
export interface Collector<T> {
  readonly items: T[];
  readonly errors: unknown[];
  done: boolean;
  /**
   * Settles when the subscription ends: `complete` from the server, `error` (a socket error too),
   * or `stopped` when this side called stop().
   */
  readonly ended: Promise<'complete' | 'error' | 'stopped'>;
  stop(): void;
}

export function collect<R, V extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<R, V>,
  variables: V,
): Collector<R> {
  let settle: (how: 'complete' | 'error' | 'stopped') => void = () => {};
  const ended = new Promise<'complete' | 'error' | 'stopped'>((resolve) => (settle = resolve));
  let stopped = false;
  const collector: Collector<R> = { items: [], errors: [], done: false, ended, stop: () => {} };
  const unsubscribe = client.subscribe<R>(
    { query: print(document), variables },
    {
      next: (value) => {
        if (value.errors?.length) collector.errors.push(...value.errors);
        else if (value.data) collector.items.push(value.data as R);
      },
      error: (err) => {
        collector.errors.push(err);
        collector.done = true;
        settle('error');
      },
      complete: () => {
        collector.done = true;
        // graphql-ws calls `complete` also when this side unsubscribes.
        settle(stopped ? 'stopped' : 'complete');
      },
    },
  );
  collector.stop = () => {
    stopped = true;
    unsubscribe();
  };
  return collector;
}
