import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One built file of the playground, served at `/graphql/playground/<name>`. */
export interface PlaygroundAsset {
  readonly name: string;
  readonly contents: Uint8Array;
}

const clientDir = fileURLToPath(new URL('./client/', import.meta.url));

/**
 * Where `npm run build` leaves the playground: beside the compiled module, so a deployment
 * that ships `dist/` ships the playground without esbuild or any browser package.
 */
export const prebuiltPlaygroundDir = fileURLToPath(new URL('./assets/', import.meta.url));

/**
 * Bundles GraphiQL, React, graphql-ws and Monaco's workers from node_modules with esbuild: the page
 * needs nothing from the network but this server. Classic scripts (IIFE), so the workers load
 * with a plain `new Worker(url)`.
 */
export async function buildPlaygroundAssets(): Promise<PlaygroundAsset[]> {
  // Loaded only when building: a server with prebuilt assets (or the playground off) needs no esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: {
      playground: join(clientDir, 'playground.client.js'),
      'editor.worker': join(clientDir, 'editor.worker.js'),
      'json.worker': join(clientDir, 'json.worker.js'),
      'graphql.worker': join(clientDir, 'graphql.worker.js'),
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    outdir: '/playground',
    entryNames: '[name]',
    assetNames: '[name]-[hash]',
    loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file', '.png': 'file' },
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return result.outputFiles.map((file) => ({ name: basename(file.path), contents: file.contents }));
}

/** Builds the playground into `outDir` (emptied first). */
export async function writePlaygroundAssets(outDir: string = prebuiltPlaygroundDir): Promise<PlaygroundAsset[]> {
  const assets = await buildPlaygroundAssets();
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  for (const asset of assets) await writeFile(join(outDir, asset.name), asset.contents);
  return assets;
}

// `node dist/src/http/playground/playground.build.js [outDir]`, run by `npm run build`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = process.argv[2] ?? prebuiltPlaygroundDir;
  writePlaygroundAssets(outDir).then(
    (assets) => console.error(`playground: ${assets.length} files in ${outDir}`),
    (err: unknown) => {
      console.error('playground build failed:', err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
