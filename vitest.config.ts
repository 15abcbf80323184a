import { createRequire } from 'node:module';
import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * Tests that run a whole deployment as OS processes (an API and several workers) and judge it by
 * timings: they run after the rest of the suite and one file at a time, so neither another file's
 * processes nor theirs compete for the machine's cores or the Postgres server's connections.
 */
const MULTI_PROCESS = ['test/chaos/**/*.test.ts', 'test/integration/multi-worker.test.ts'];
/**
 * The security tests assert that the server stays responsive under attack (a probe's latency),
 * so they run one file at a time after the rest: beside another test file, the two cores are the
 * other file's too, and the probe would measure that file, not the attack.
 */
const SECURITY = ['test/security/**/*.test.ts'];

// SWC instead of esbuild: type-graphql needs emitDecoratorMetadata, which esbuild drops.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds. Node, and so type-graphql and graphql-ws,
    // load the CJS one; Vite would hand our sources the ESM one, and a schema built with one copy
    // is refused by the other ("from another module or realm"). Pin everyone to the CJS build.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...MULTI_PROCESS, ...SECURITY] } },
      { extends: true, test: { name: 'security', include: SECURITY, fileParallelism: false, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'multi-process', include: MULTI_PROCESS, fileParallelism: false, sequence: { groupOrder: 2 } } },
    ],
  },
});
