import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';

/** An error the API answered with; `code` is its `extensions.code` (NOT_FOUND, REVISION_CONFLICT, ...). */
export class WorkflowBuilderError extends Error {
  constructor(
    readonly errors: readonly { message: string; extensions?: Record<string, unknown> }[],
    readonly status: number,
  ) {
    super(errors.map((e) => `${String(e.extensions?.code ?? 'ERROR')}: ${e.message}`).join('; '));
    this.name = 'WorkflowBuilderError';
  }

  get code(): string | undefined {
    const code = this.errors[0]?.extensions?.code;
    return typeof code === 'string' ? code : undefined;
  }
}

export interface WorkflowBuilderClientOptions {
  /** The GraphQL endpoint, e.g. `http://localhost:4000/graphql`. */
  readonly url: string;
  readonly apiKey: string;
  /** A WebSocket implementation for subscriptions outside browsers (e.g. the `ws` package). */
  readonly webSocketImpl?: unknown;
}

type Variables<V> = V extends Record<string, never> ? [] | [V] : [V];

/**
 * A small typed client for integrators: queries and mutations over HTTP, subscriptions over
 * graphql-ws, both with the API key. Use it with the typed documents of `operations.generated.ts`.
 */
export class WorkflowBuilderClient {
  private ws: Client | undefined;

  constructor(private readonly options: WorkflowBuilderClientOptions) {}

  /** Runs a query or mutation; rejects with WorkflowBuilderError when the API answers with errors. */
  async request<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, ...[variables]: Variables<V>): Promise<R> {
    const res = await fetch(this.options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.apiKey}` },
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await res.json()) as { data?: R; errors?: { message: string; extensions?: Record<string, unknown> }[] };
    if (body.errors?.length) throw new WorkflowBuilderError(body.errors, res.status);
    return body.data as R;
  }

  /** Subscribes; iterate the result with `for await`, and `return()` (or break) to unsubscribe. */
  subscribe<R, V extends Record<string, unknown>>(document: TypedDocumentNode<R, V>, ...[variables]: Variables<V>): AsyncIterableIterator<R> {
    this.ws ??= createClient({
      url: this.options.url.replace(/^http/, 'ws'),
      connectionParams: { authorization: `Bearer ${this.options.apiKey}` },
      ...(this.options.webSocketImpl ? { webSocketImpl: this.options.webSocketImpl } : {}),
    });
    const iterator = this.ws.iterate<R>({ query: print(document), variables: variables ?? {} });
    const mapped: AsyncIterableIterator<R> = {
      async next() {
        const next = await iterator.next();
        if (next.done) return { done: true, value: undefined };
        if (next.value.errors?.length) throw new WorkflowBuilderError(next.value.errors as never, 0);
        return { done: false, value: next.value.data as R };
      },
      async return() {
        await iterator.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return mapped;
  }

  /** Closes the WebSocket, if one was opened. */
  async close(): Promise<void> {
    await this.ws?.dispose();
    this.ws = undefined;
  }
}
