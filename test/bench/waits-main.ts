/**
 * `BENCH=waits` (part of `npm run bench`): `BENCH_WAITING` (10,000) instances waiting for a reply
 * (`wait.forMessage`, each for its own sender) on one API process and one worker process, on a
 * database of their own on `DATABASE_URL`'s server. Reports the RSS growth of each process (read right
 * after a full garbage collection in it) from an
 * idle deployment (a warm-up of 200 waiting) to all of them waiting, then, with them waiting,
 * `BENCH_REPLIES` (500) signed Twilio replies sent one at a time: the time from sending a reply to
 * its answer (the wait's wake is committed before it) and to the start of the step after the wait
 * (read from `step_runs`). Prints one JSON object on stdout; progress on stderr.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Deployment } from '../support/deployment.js';
import { mapBounded, sleep, summarize } from './bench-support.js';

const log = (message: string) => process.stderr.write(`bench waits: ${message}\n`);
const WAITING = Number(process.env.BENCH_WAITING ?? 10_000);
const REPLIES = Number(process.env.BENCH_REPLIES ?? 500);
const WARMUP = 200;
const TWILIO_AUTH_TOKEN = 'bench-twilio-auth-token';
const TARGETS = { growthMb: 50, replyToResumeP50_ms: 20, replyToResumeP99_ms: 100 };

const rssMb = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Math.round((Number(line?.replace(/\D+/g, '') ?? 0) / 1024) * 10) / 10;
};

/** A signed Twilio SMS from `from`, as Twilio posts it. */
function twilioReply(url: string, from: string, body: string): { body: string; signature: string } {
  const sid = `SM${randomBytes(16).toString('hex')}`;
  const params = new URLSearchParams({
    MessageSid: sid,
    SmsMessageSid: sid,
    SmsSid: sid,
    AccountSid: 'AC00000000000000000000000000000000',
    From: from,
    To: '+15005550006',
    Body: body,
    NumMedia: '0',
    NumSegments: '1',
    SmsStatus: 'received',
    ApiVersion: '2010-04-01',
  });
  const data = [...params.keys()].sort().reduce((acc, name) => acc + name + params.get(name)!, url);
  return { body: params.toString(), signature: createHmac('sha1', TWILIO_AUTH_TOKEN).update(data, 'utf8').digest('base64') };
}

async function main(): Promise<Record<string, unknown>> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return { skipped: 'needs a Postgres server (DATABASE_URL): the deployment runs an API and a worker process', meets: false };
  const deployment = await Deployment.create({
    serverUrl,
    workers: 1,
    env: { TWILIO_AUTH_TOKEN, TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000' },
  });
  try {
    const { client } = deployment;
    const { createWorkflow } = await client.request<{ createWorkflow: { id: string } }>(
      'mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }',
      { input: { name: 'wait for the reply' } },
    );
    const workflowId = createWorkflow.id;
    await client.request('mutation($id: ID!, $edits: [EditInput!]!) { applyEdits(workflowId: $id, edits: $edits) { label } }', {
      id: workflowId,
      edits: [
        { addStep: { id: 'start', type: 'trigger.incomingMessage', name: 'Texted', config: { channel: 'sms', keyword: 'never-matched-keyword' } } },
        { addStep: { id: 'wait', type: 'wait.forMessage', name: 'Wait', config: { channel: 'sms', timeout: { amount: 1, unit: 'days' } }, after: { stepId: 'start', port: 'next' } } },
        { addStep: { id: 'done', type: 'end', name: 'Done', after: { stepId: 'wait', port: 'received' } } },
        { addStep: { id: 'late', type: 'end', name: 'Late' } },
        { connectSteps: { from: 'wait', port: 'timedOut', to: 'late' } },
      ],
    });
    await client.request('mutation($id: ID!) { publishWorkflow(workflowId: $id) { version { version } } }', { id: workflowId });
    const sender = (i: number) => `+1777${String(i).padStart(7, '0')}`;
    const startRange = async (from: number, to: number) =>
      mapBounded(to - from, 16, async (j) => {
        const i = from + j;
        const input = { message: { id: `SM-${i}`, from: sender(i), to: '+15005550006', text: 'hi', channel: 'sms', receivedAt: new Date().toISOString() } };
        await client.request('mutation($id: ID!, $input: JSON) { startWorkflow(workflowId: $id, input: $input) { instance { id } } }', { id: workflowId, input });
      });
    const waitingCount = async () => {
      const [row] = await deployment.sql<{ n: number }[]>`select count(*)::int as n from workflow_instances where workflow_id = ${workflowId} and status = 'WAITING'`;
      return row!.n;
    };
    const untilWaiting = async (n: number) => {
      const deadline = Date.now() + 30 * 60_000;
      while ((await waitingCount()) < n) {
        if (Date.now() > deadline) throw new Error(`fewer than ${n} instances waiting after 30 minutes`);
        await sleep(500);
      }
    };
    const processes = { api: deployment.api, worker: deployment.workers[0]! };
    // After a full collection in each: what they keep, not the garbage they have yet to collect.
    const readRss = async () => {
      await Promise.all([processes.api.collectGarbage(), processes.worker.collectGarbage()]);
      return { api: rssMb(processes.api.pid), worker: rssMb(processes.worker.pid) };
    };

    await startRange(0, WARMUP);
    await untilWaiting(WARMUP);
    const idle = await readRss();
    log(`idle rss ${JSON.stringify(idle)} MB; starting ${WAITING} waiting instances`);
    const started = performance.now();
    await startRange(WARMUP, WARMUP + WAITING);
    await untilWaiting(WARMUP + WAITING);
    const startPhase_s = Math.round((performance.now() - started) / 100) / 10;
    const loaded = await readRss();
    log(`all ${WAITING} waiting after ${startPhase_s} s; rss ${JSON.stringify(loaded)} MB; ${REPLIES} replies`);

    const url = processes.api.url.replace(/\/graphql$/, '/inbound/twilio');
    // The server checks the signature against its public URL (PUBLIC_BASE_URL, by default localhost:<port>).
    const signedUrl = url.replace('//127.0.0.1:', '//localhost:');
    const toAnswer: number[] = [];
    const sentAt = new Map<string, number>();
    let unresumed = 0;
    // Replies go to instances spread over the whole waiting set, one at a time (a latency, not a throughput).
    for (let r = 0; r < REPLIES; r++) {
      const i = WARMUP + Math.floor((r * WAITING) / REPLIES);
      const reply = twilioReply(signedUrl, sender(i), `reply ${r}`);
      const t0 = performance.now();
      const wall = Date.now();
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': reply.signature },
        body: reply.body,
      });
      await res.arrayBuffer();
      toAnswer.push(performance.now() - t0);
      const resumed = (res.headers.get('x-wfb-resumed-instances') ?? '').split(',').filter(Boolean);
      if (res.status !== 200 || resumed.length !== 1) {
        if (unresumed === 0) log(`a reply did not resume one instance: ${res.status} ${JSON.stringify([...res.headers])}`);
        unresumed += 1;
      }
      else sentAt.set(resumed[0]!, wall);
    }
    const ids = [...sentAt.keys()];
    const deadline = Date.now() + 60_000;
    let rows: { id: string; started: Date }[] = [];
    while (Date.now() < deadline) {
      rows = await deployment.sql<{ id: string; started: Date }[]>`
        select instance_id as id, started_at as started from step_runs
        where instance_id = any(${ids}::uuid[]) and step_id = 'done' and started_at is not null`;
      if (rows.length === ids.length) break;
      await sleep(500);
    }
    const toNextStep = rows.map((r) => r.started.getTime() - sentAt.get(r.id)!);
    const growth = { api: Math.round((loaded.api - idle.api) * 10) / 10, worker: Math.round((loaded.worker - idle.worker) * 10) / 10 };
    const answer = summarize(toAnswer);
    const next = summarize(toNextStep);
    return {
      what: `${WAITING} instances waiting for a reply (wait.forMessage), one API and one worker process; ${REPLIES} signed Twilio replies one at a time`,
      waiting: WAITING,
      startPhase_s,
      rssMb: { idle, loaded, growth },
      replies: REPLIES,
      repliesNotResumingOne: unresumed,
      nextStepNotStarted: ids.length - rows.length,
      replyToAnswer: answer,
      replyToNextStepStart: next,
      target: TARGETS,
      meets:
        growth.api <= TARGETS.growthMb &&
        growth.worker <= TARGETS.growthMb &&
        unresumed === 0 &&
        rows.length === ids.length &&
        next.p50_ms <= TARGETS.replyToResumeP50_ms &&
        next.p99_ms <= TARGETS.replyToResumeP99_ms,
    };
  } finally {
    await deployment.stop();
  }
}

main().then(
  (result) => {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
