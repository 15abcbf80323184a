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
  stop(): void;
}

export function collect<R, V extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<R, V>,
  variables: V,
): Collector<R> {
  const collector: Collector<R> = { items: [], errors: [], done: false, stop: () => {} };
  collector.stop = client.subscribe<R>(
    { query: print(document), variables },
    {
      next: (value) => {
        if (value.errors?.length) collector.errors.push(...value.errors);
        else if (value.data) collector.items.push(value.data as R);
      },
      error: (err) => {
        collector.errors.push(err);
        collector.done = true;
      },
      complete: () => {
        collector.done = true;
      },
    },
  );
  return collector;
}
