// Monaco (GraphiQL's editor) runs its language services in web workers. They are built next to the
// playground bundle (see ../playground.build.ts) and loaded from this server, never from a CDN.

/** Points Monaco at the worker bundles under `base`. */
export function installMonacoWorkers(base) {
  globalThis.MonacoEnvironment = {
    getWorker(_workerId, label) {
      const file = label === 'json' ? 'json.worker.js' : label === 'graphql' ? 'graphql.worker.js' : 'editor.worker.js';
      return new Worker(new URL(file, base), { name: label });
    },
  };
}
