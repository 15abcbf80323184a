// The playground's browser entry: bundled by esbuild (see ../playground.build.ts), never run by Node.
// Plain JavaScript so that the server's TypeScript program, which has no DOM types, does not check it.
import 'graphiql/style.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { parse } from 'graphql';
import { createClient } from 'graphql-ws/client';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { installMonacoWorkers } from './monaco-workers.js';

// Workers are siblings of this bundle; read where it was loaded from while it is still the current script.
installMonacoWorkers(new URL('.', document.currentScript.src));

// The page is served at the GraphQL endpoint itself, so its own path is the endpoint.
const endpoint = new URL(window.location.pathname, window.location.href);
const socketEndpoint = new URL(endpoint);
socketEndpoint.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

const DEFAULT_HEADERS = JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2);
const DEFAULT_QUERY = `# Put your API key in the Headers tab below ("Authorization": "Bearer <key>"), then run:
{
  actionTypes {
    type
    displayName
  }
}
`;

/** The Authorization value from the headers editor, whatever its case. */
function authorizationOf(headers) {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'authorization' && typeof value === 'string') return value;
  }
  return undefined;
}

/**
 * A socket authenticates once, in connection_init, so a changed key needs a new socket:
 * keep one client per current key and drop the previous one.
 */
let current;
function fetcherFor(authorization) {
  if (current && current.authorization === authorization) return current.fetcher;
  current?.socket.dispose();
  const socket = createClient({
    url: socketEndpoint.href,
    lazy: true,
    retryAttempts: 0,
    connectionParams: authorization ? { authorization } : {},
  });
  current = { authorization, socket, fetcher: createGraphiQLFetcher({ url: endpoint.href, wsClient: socket }) };
  return current.fetcher;
}

/**
 * The toolkit sends an operation over the socket only when the parsed document it is handed is a
 * subscription, and GraphiQL parses the editor on a debounce (its document can be the previous
 * text): parse what is actually sent, so a subscription run at once still goes over graphql-ws.
 */
function withDocument(params, options) {
  if (typeof params.query !== 'string') return options;
  try {
    return { ...options, documentAST: parse(params.query) };
  } catch {
    return options; // the server reports the syntax error
  }
}

const fetcher = (params, options) => fetcherFor(authorizationOf(options?.headers))(params, withDocument(params, options));

createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultHeaders: DEFAULT_HEADERS,
    defaultEditorToolsVisibility: 'headers',
    isHeadersEditorEnabled: true,
    // An API key in localStorage outlives the tab; the user can opt in from the settings dialog.
    shouldPersistHeaders: false,
  }),
);
