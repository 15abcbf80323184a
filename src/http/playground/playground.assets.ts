import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { buildPlaygroundAssets, prebuiltPlaygroundDir, type PlaygroundAsset } from './playground.build.js';

const gzipAsync = promisify(gzip);

/** A playground file ready to send, with its gzip form made on first demand. */
export interface ServedAsset {
  readonly name: string;
  readonly contents: Buffer;
  gzipped(): Promise<Buffer>;
}

/**
 * The playground's files, loaded once on the first request that needs them: from the prebuilt
 * directory `npm run build` fills, or, when it is absent (tests, a server run from source), bundled
 * in memory with esbuild. Nothing is loaded while nobody opens the playground.
 */
export class PlaygroundAssets {
  private loading?: Promise<ReadonlyMap<string, ServedAsset>>;

  constructor(private readonly options: { readonly dir?: string } = {}) {}

  /** The file called `name`, or undefined when there is none. */
  async get(name: string): Promise<ServedAsset | undefined> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined; // let a later request try again
      throw err;
    });
    return (await this.loading).get(name);
  }

  private async load(): Promise<ReadonlyMap<string, ServedAsset>> {
    const dir = this.options.dir ?? prebuiltPlaygroundDir;
    const files = (await prebuilt(dir)) ?? (await buildPlaygroundAssets());
    return new Map(files.map((file) => [file.name, served(file)]));
  }
}

async function prebuilt(dir: string): Promise<PlaygroundAsset[] | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  if (!names.includes('playground.js')) return undefined;
  return Promise.all(names.map(async (name) => ({ name, contents: await readFile(join(dir, name)) })));
}

function served(file: PlaygroundAsset): ServedAsset {
  const contents = Buffer.from(file.contents.buffer, file.contents.byteOffset, file.contents.byteLength);
  let zipped: Promise<Buffer> | undefined;
  return {
    name: file.name,
    contents,
    gzipped: () => (zipped ??= gzipAsync(contents)),
  };
}
