/**
 * The rooms of src/ and which way their imports may point (see the README's "Code layout"):
 * `domain` knows nothing; `ports` know `domain`; `actions`, `engine` and `services` know `domain`
 * and `ports`; adapters know the ports they implement; only `server/` (the composition root)
 * constructs concrete adapters, so only it may import them. `npm run deps` checks it; `npm run check`
 * runs it.
 */

/** A path in one of the given rooms of src/. */
const inRooms = (...rooms) => `^src/(${rooms.join('|')})/`;
/** A path in any room of src/ but the given ones. */
const outsideRooms = (...rooms) => `^src/(?!(${rooms.join('|')})/)`;

/** Adapters of outgoing ports: each knows only the domain, the ports it implements, and its own room. */
const outboundAdapters = ['persistence', 'scheduler', 'realtime', 'providers'];

/** Who may import what, besides its own room. */
const allowed = {
  domain: [],
  ports: ['domain'],
  actions: ['domain', 'ports'],
  engine: ['domain', 'ports'],
  services: ['domain', 'ports'],
  ...Object.fromEntries(outboundAdapters.map((room) => [room, ['domain', 'ports']])),
  // Inbound adapters drive the application: its services, the engine's use cases and the action
  // catalogue, never another adapter (the realtime service is reached through its port).
  graphql: ['domain', 'ports', 'services', 'engine', 'actions'],
  http: ['domain', 'ports', 'services', 'engine', 'actions'],
  // The typed client is shipped to integrators (a package of its own): it stands on its own, and
  // the packages it imports are checked against its own package.json, the closest to it.
  sdk: [],
};

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...Object.entries(allowed).map(([room, rooms]) => ({
      name: `${room}-imports-${rooms.length ? rooms.join('-') : 'nothing'}`,
      comment: rooms.length
        ? `${room}/ may import only ${rooms.join(', ')} (and itself)`
        : `${room}/ imports no other room`,
      severity: 'error',
      from: { path: inRooms(room) },
      to: { path: outsideRooms(room, ...rooms) },
    })),
    {
      name: 'no-circular',
      comment: 'Modules that import each other (directly or round a loop) cannot be read, tested or moved one at a time',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      comment: 'A package imported must be a dependency in package.json',
      severity: 'error',
      // The playground's browser code loads its editor's workers from graphiql's own dependencies.
      from: { pathNot: '^src/http/playground/client/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'What the server imports at run time must be in "dependencies": `npm ci --omit=dev` installs nothing else',
      severity: 'error',
      // The playground's bundler script and browser code run at build time only.
      from: { path: '^src/', pathNot: ['^src/http/playground/(playground\\.build\\.ts|client/)'] },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // The SDK package's build output (src/sdk's own `npm run build`): compiled copies of its sources.
    exclude: { path: '^src/sdk/dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      mainFields: ['module', 'main', 'types', 'typings'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
