// `npm start` runs this before the server: it builds only when a source is newer than the last
// build. `node src/server/build-if-stale.mjs --stamp` (npm's postbuild) records that a build finished.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Written after every build; its mtime is when that build's inputs were read. */
const stamp = join(root, 'dist', '.build-stamp');
/** What the build reads: a change to any of them makes the build stale. */
const inputs = ['src', 'test/bench', '.swcrc', 'package.json', 'package-lock.json'];
/** What the build skips: the SDK package's own build output (its `npm run build`), not the server's input. */
const skipped = new Set([join(root, 'src', 'sdk', 'dist')]);

/** The newest modification time under `path` (a file or a folder), in ms; 0 when it does not exist. */
function newest(path) {
  if (skipped.has(path)) return 0;
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs; // a deleted file shows as its folder's change
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

function writeStamp(at) {
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(stamp, `${new Date(at).toISOString()}\n`);
}

if (process.argv.includes('--stamp')) {
  writeStamp(Date.now());
  process.exit(0);
}

const builtAt = newest(stamp);
const changedAt = Math.max(...inputs.map((input) => newest(join(root, input))));
if (builtAt === 0 || changedAt > builtAt) {
  console.error(builtAt === 0 ? 'No build yet: building (once)…' : 'Sources changed since the last build: building…');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(build.status ?? 1);
}

