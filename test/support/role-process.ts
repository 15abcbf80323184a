import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file whether it runs from `test/` (vitest) or `dist/test/` (a compiled runner). */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above the test harness');
    dir = up;
  }
  return dir;
})();

/** How a process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** When it was seen to end (ms since the epoch). */
  readonly at: number;
}

/** Children still alive; killed when this process exits, even after a timed-out test. */
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

/**
 * Makes a child end itself when its parent dies without cleaning up (SIGKILL, a crash): its stdin
 * is a pipe from the parent, which the kernel closes then. Preloaded before the server's own code;
 * a stopped child cannot run it, which the parent's exit handler covers.
 */
const ORPHAN_GUARD = 'data:text/javascript,process.stdin.on("end",()=>process.kill(process.pid,"SIGKILL")).resume()';

/**
 * SIGUSR2 collects garbage (twice: what the first frees of weak references the second takes) and
 * says so on stderr, so that a bench can read a process's memory without its garbage.
 */
const GC_ON_SIGNAL = 'data:text/javascript,process.on("SIGUSR2",()=>{globalThis.gc();globalThis.gc();process.stderr.write("role-process: gc done\\n")})';
const GC_DONE = 'role-process: gc done';

const LOG_LINES_KEPT = 400;

/**
 * One server process of a deployment (`node dist/src/server/main.js`, as `npm start` runs it),
 * with the faults a chaos test injects: SIGKILL, SIGSTOP/SIGCONT, SIGTERM.
 */
export class RoleProcess {
  /** The last lines it logged (stdout and stderr). */
  readonly logs: string[] = [];
  /** GraphQL URL (API) or health URL (worker). */
  url = '';
  /** When it was last paused and resumed (ms since the epoch). */
  pausedAt: number | undefined;
  resumedAt: number | undefined;
  readonly startedAt = Date.now();
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  private readonly lineWaiters = new Set<(line: string) => void>();

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        alive.delete(child);
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      });
    });
  }

  /** Starts the server with `env` (on top of this process's environment) and waits until it serves. */
  static async start(options: { name: string; env: Record<string, string>; readyTimeoutMs?: number }): Promise<RoleProcess> {
    const main = join(repoRoot, 'dist', 'src', 'server', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: build first (npm run build)`);
    const child = spawn(process.execPath, ['--expose-gc', '--import', ORPHAN_GUARD, '--import', GC_ON_SIGNAL, main], {
      cwd: repoRoot,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', BOOTSTRAP_API_KEY: 'false', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    alive.add(child);
    const proc = new RoleProcess(options.name, child);
    await proc.ready(options.readyTimeoutMs ?? 60_000);
    return proc;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exitInfo(): ProcessExit | undefined {
    return this.exit;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** SIGSTOP: the process keeps its sockets and leases but does nothing until {@link resume}. */
  pause(): void {
    this.child.kill('SIGSTOP');
    this.pausedAt = Date.now();
  }

  resume(): void {
    this.child.kill('SIGCONT');
    this.resumedAt = Date.now();
  }

  /** Sends `signal` and resolves when the process has ended. */
  async signal(signal: NodeJS.Signals): Promise<ProcessExit> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    return this.exited;
  }

  /** Ends it at once; a stopped process is killed too. */
  kill9(): Promise<ProcessExit> {
    return this.signal('SIGKILL');
  }

  /** Whether its health endpoint (or GraphQL endpoint) answers: its event loop runs. */
  async responsive(timeoutMs = 2_000): Promise<boolean> {
    const target = this.url.endsWith('/graphql') ? this.url.replace(/\/graphql$/, '/healthz') : this.url;
    try {
      const res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Collects its garbage (see GC_ON_SIGNAL) and resolves once it has. */
  collectGarbage(timeoutMs = 30_000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineWaiters.delete(onLine);
        reject(new Error(`${this.name} did not collect its garbage within ${timeoutMs} ms`));
      }, timeoutMs);
      const onLine = (line: string) => {
        if (line !== GC_DONE) return;
        clearTimeout(timer);
        this.lineWaiters.delete(onLine);
        resolve();
      };
      this.lineWaiters.add(onLine);
      this.child.kill('SIGUSR2');
    });
  }

  /** The log tail, for a failure message. */
  tail(lines = 40): string {
    return this.logs.slice(-lines).join('\n');
  }

  private ready(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`${this.name} did not start within ${timeoutMs} ms:\n${this.tail()}`));
      }, timeoutMs);
      let partial = '';
      const onData = (chunk: Buffer) => {
        const text = partial + chunk.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines.filter(Boolean)) {
          this.logs.push(line);
          if (this.logs.length > LOG_LINES_KEPT) this.logs.shift();
          for (const waiter of this.lineWaiters) waiter(line);
          if (this.url) continue;
          try {
            const entry = JSON.parse(line) as { url?: string; health?: string; msg?: string };
            if (entry.msg?.startsWith('Workflow Builder is')) {
              this.url = entry.url ?? entry.health ?? '';
              clearTimeout(timer);
              resolve();
            }
          } catch {
            // not JSON: kept in the logs
          }
        }
      };
      this.child.stdout!.on('data', onData);
      this.child.stderr!.on('data', onData);
      void this.exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${exit.code ?? exit.signal}) before serving:\n${this.tail()}`));
      });
    });
  }
}
