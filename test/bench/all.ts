/**
 * `npm run bench`: runs the editing benchmark (bench.js), the engine and realtime benchmark
 * (engine-main.js), the schedules benchmark (schedules-main.js) and the waits benchmark
 * (waits-main.js) one after the other, each in its own process so none inherits another's heap,
 * and prints one JSON object: { editing, engine, schedules, waits }. `BENCH=engine,waits` runs
 * some of them. Progress goes to stderr.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function run(script: string, extraArgs: string[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...extraArgs, join(here, script)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`));
      const json = out.slice(out.indexOf('{'));
      try {
        resolve(JSON.parse(json));
      } catch {
        reject(new Error(`${script} did not print JSON:\n${out}`));
      }
    });
  });
}

const which = new Set((process.env.BENCH ?? 'editing,engine,schedules,waits').split(',').map((s) => s.trim()));
const result: Record<string, unknown> = {};
if (which.has('editing')) result.editing = await run('bench.js');
// --expose-gc lets the memory figure be read after a collection.
if (which.has('engine')) result.engine = await run('engine-main.js', ['--expose-gc']);
if (which.has('schedules')) result.schedules = await run('schedules-main.js');
if (which.has('waits')) result.waits = await run('waits-main.js');
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
