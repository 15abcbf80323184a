import { callPath, CallReceiver, type ReceivedCall } from '../support/call-receiver.js';
import { Deployment, type DeploymentOptions, type StepSpec } from '../support/deployment.js';
import { RunReader, type EventRow, type StepRunRow } from '../support/run-reader.js';
import { callFigures, delayFigures, eventLogGaps, workerLostEvents, type CallFigures, type DelayFigures } from './figures.js';

/**
 * Settings of every chaos deployment: a short lease and a frequent sweep so a lost worker's steps
 * are taken over in seconds; everything else is the default.
 */
export const CHAOS_ENV = {
  STEP_LEASE_MS: '3000',
  SWEEP_INTERVAL_MS: '500',
  SWEEP_GRACE_MS: '2000',
  SCHEDULER_POLL_MS: '500',
} as const;

export const leaseMs = (env: Record<string, string>): number => Number(env.STEP_LEASE_MS);
export const sweepMs = (env: Record<string, string>): number => Number(env.SWEEP_INTERVAL_MS);

/** The Postgres server chaos deployments make their databases on. */
export function chaosServerUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;
}

/** Step ids of the workload, in order. */
export const FETCH = 'fetch';
export const WAIT = 'wait';
export const NOTIFY = 'notify';
export const REPORT = 'report';

/** An http.request step calling the receiver at `/calls/<stepId>/<instance id>`. */
export function callStep(receiverUrl: string, stepId: string, extra: Record<string, unknown> = {}): StepSpec {
  return {
    id: stepId,
    type: 'http.request',
    config: { method: 'POST', url: `${receiverUrl}${callPath(stepId)}`, body: { instance: '{{instance.id}}', step: stepId }, ...extra },
  };
}

/** The workload: trigger → http → delay 3 s → sms → http. */
export function workloadSteps(receiverUrl: string): StepSpec[] {
  return [
    { id: 'start', type: 'trigger.manual' },
    callStep(receiverUrl, FETCH),
    { id: WAIT, type: 'delay', config: { duration: { amount: 3, unit: 'seconds' } } },
    { id: NOTIFY, type: 'sms.send', config: { to: '+15550100', text: 'Hello {{instance.id}}' } },
    callStep(receiverUrl, REPORT),
  ];
}

/** Calls the workload makes per instance. */
export const CALLS_PER_INSTANCE = 2;

/** A deployment and a receiver wired to it (calls attributed to its processes), both stopped by `close`. */
export interface Rig {
  readonly deployment: Deployment;
  readonly receiver: CallReceiver;
  readonly reader: RunReader;
  close(): Promise<void>;
}

const openRigs = new Set<Rig>();

/** Closes every rig still open (a test that timed out, a runner interrupted). */
export async function closeAllRigs(): Promise<void> {
  await Promise.all([...openRigs].map((rig) => rig.close()));
}

export async function openRig(options: Omit<DeploymentOptions, 'serverUrl'> & { serverUrl?: string }): Promise<Rig> {
  const serverUrl = options.serverUrl ?? chaosServerUrl();
  if (!serverUrl) throw new Error('chaos runs need a real Postgres: set DATABASE_URL');
  const receiver = new CallReceiver();
  await receiver.start();
  let deployment: Deployment;
  try {
    deployment = await Deployment.create({ ...options, serverUrl });
  } catch (err) {
    await receiver.stop();
    throw err;
  }
  receiver.senders = () => deployment.processNames();
  const rig: Rig = {
    deployment,
    receiver,
    reader: new RunReader(deployment.sql),
    async close() {
      openRigs.delete(rig);
      await deployment.stop();
      await receiver.stop();
    },
  };
  openRigs.add(rig);
  return rig;
}

/** Figures every scenario of the workload reports. */
export interface WorkloadFigures {
  readonly instances: number;
  readonly completed: number;
  readonly statusCounts: Record<string, number>;
  /** Why instances failed: reason to count. */
  readonly failures: Record<string, number>;
  readonly calls: CallFigures;
  readonly workerLostEvents: number;
  readonly delay: DelayFigures;
  /** sms steps that did not record exactly one sandbox message. */
  readonly smsStepsWithoutOneMessage: number;
  readonly eventLogGaps: number;
  readonly durationMs: number;
}

/** Reads everything a scenario judges by, once the run is over. */
export async function measure(rig: Rig, workflowId: string, options: { instances: number; startedAt: number; smsStepId?: string; delayStepId?: string }): Promise<{
  figures: WorkloadFigures;
  events: EventRow[];
  stepRuns: StepRunRow[];
  calls: ReceivedCall[];
}> {
  const [events, stepRuns, statusCounts, messages] = await Promise.all([
    rig.reader.events(workflowId),
    rig.reader.stepRuns(workflowId),
    rig.reader.statusCounts(workflowId),
    rig.reader.messagesPerStep(workflowId),
  ]);
  const smsStepId = options.smsStepId ?? NOTIFY;
  const smsRuns = stepRuns.filter((r) => r.stepId === smsStepId);
  const calls = [...rig.receiver.calls];
  return {
    figures: {
      instances: options.instances,
      completed: statusCounts.COMPLETED ?? 0,
      statusCounts,
      failures: failureReasons(events),
      calls: callFigures(calls),
      workerLostEvents: workerLostEvents(events),
      delay: delayFigures(events, options.delayStepId ?? WAIT),
      smsStepsWithoutOneMessage:
        options.instances - smsRuns.filter((r) => messages.get(`${r.instanceId}:${r.stepId}`) === 1).length,
      eventLogGaps: eventLogGaps(events),
      durationMs: Date.now() - options.startedAt,
    },
    events,
    stepRuns,
    calls,
  };
}

function failureReasons(events: readonly EventRow[]): Record<string, number> {
  const reasons: Record<string, number> = {};
  for (const e of events) {
    if (e.entity !== 'INSTANCE' || e.event !== 'fail') continue;
    const reason = String(e.detail?.reason ?? 'unknown');
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  return reasons;
}

/** Time to wait for `instances` runs of the workload to end: generous, so a slow machine is not a failure. */
export const endDeadlineMs = (instances: number): number => 60_000 + instances * 150;
