import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Compiles src/ into dist/ (SWC, about a second) so tests can run the real server binary. */
export function buildServer(): void {
  execFileSync('npx', ['swc', 'src', '-d', 'dist', '--config-file', '.swcrc', '--quiet'], { cwd: root, stdio: 'pipe' });
}

/** A server running as its own OS process, as `npm start` runs it. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** GraphQL URL, or undefined for ROLE=worker. */
  readonly url: string;
  readonly logs: string[];
  /** Sends the signal and resolves with the exit code (null when ended by the signal itself). */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Children still running; killed when the test process exits, even after a timed-out test. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts `node dist/src/server/main.js` with `env` and waits until it serves. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['dist/src/server/main.js'], {
    cwd: root,
    // No sweep unless the test asks for one: see SWEEP_INTERVAL_MS in test-server.ts.
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', BOOTSTRAP_API_KEY: 'false', SWEEP_INTERVAL_MS: '600000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const logs: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('\n')}`)), 30_000);
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logs.push(line);
        try {
          const entry = JSON.parse(line) as { url?: string; msg?: string };
          if (entry.msg?.startsWith('Workflow Builder is')) {
            clearTimeout(timer);
            resolve(entry.url ?? '');
          }
        } catch {
          // not JSON: keep it in the logs
        }
      }
    };
    child.stdout!.on('data', onLine);
    child.stderr!.on('data', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`));
    });
  });
  return {
    child,
    url,
    logs,
    kill: (signal = 'SIGTERM') =>
      new Promise<number | null>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
