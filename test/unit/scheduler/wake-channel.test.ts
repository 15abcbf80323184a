import { BaseNotificationChannel, toJobId, type JobNotification } from 'agenda';
import { describe, expect, it } from 'vitest';
import { WakeChannel } from '../../../src/scheduler/wake-channel.js';
import { STEP_JOB_NAME } from '../../../src/scheduler/step-job.js';

/** A transport whose sends the test finishes by hand, one by one. */
class ManualTransport extends BaseNotificationChannel {
  readonly sent: JobNotification[] = [];
  private readonly finishers: Array<() => void> = [];

  async connect(): Promise<void> {
    this.setState('connected');
  }
  async disconnect(): Promise<void> {
    this.setState('disconnected');
  }
  publish(notification: JobNotification): Promise<void> {
    this.sent.push(notification);
    return new Promise<void>((resolve) => this.finishers.push(resolve));
  }
  /** Finishes the oldest unfinished send, as the database answering. */
  finishOne(): void {
    this.finishers.shift()?.();
  }
  get unfinished(): number {
    return this.finishers.length;
  }
}

const job = (id: string, nextRunAt: Date | null): JobNotification => ({
  jobId: toJobId(id),
  jobName: STEP_JOB_NAME,
  nextRunAt,
  priority: 0,
  timestamp: new Date(),
});

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('WakeChannel', () => {
  it('sends one notification at a time and merges those published meanwhile into the next, the most urgent', async () => {
    const transport = new ManualTransport();
    const channel = new WakeChannel(transport, () => {});
    await channel.connect();
    const settled: string[] = [];
    const publish = (n: JobNotification) => channel.publish(n).then(() => settled.push(String(n.jobId)));

    const first = publish(job('a', null));
    const later = new Date(Date.now() + 60_000);
    const sooner = new Date(Date.now() + 1_000);
    const merged = [publish(job('b', later)), publish(job('c', sooner)), publish(job('d', later))];
    await tick();
    expect(transport.sent.map((n) => String(n.jobId))).toEqual(['a']);

    transport.finishOne();
    await first;
    await tick();
    // b, c and d were saved before this one was sent: one notification covers them all.
    expect(transport.sent.map((n) => String(n.jobId))).toEqual(['a', 'c']);
    expect(settled).toEqual(['a']);

    transport.finishOne();
    await Promise.all(merged);
    expect(settled.sort()).toEqual(['a', 'b', 'c', 'd']);

    // Nothing on its way: the next one goes at once.
    const alone = publish(job('e', null));
    await tick();
    expect(transport.sent.map((n) => String(n.jobId))).toEqual(['a', 'c', 'e']);
    transport.finishOne();
    await alone;
    expect(transport.unfinished).toBe(0);
  });

  it('a failed send rejects its publishers, and the next notification is still sent', async () => {
    const transport = new ManualTransport();
    let fail = true;
    const original = transport.publish.bind(transport);
    transport.publish = (n) => (fail ? Promise.reject(new Error('connection lost')) : original(n));
    const channel = new WakeChannel(transport, () => {});
    await channel.connect();
    await expect(channel.publish(job('a', null))).rejects.toThrow('connection lost');
    fail = false;
    const next = channel.publish(job('b', null));
    await tick();
    expect(transport.sent.map((n) => String(n.jobId))).toEqual(['b']);
    transport.finishOne();
    await next;
  });

  it('coalesces deliveries to the worker while one is being handled', async () => {
    const transport = new ManualTransport();
    const channel = new WakeChannel(transport, () => {});
    await channel.connect();
    const handled: string[] = [];
    let release: () => void = () => {};
    channel.subscribe(async (n) => {
      handled.push(String(n.jobId));
      if (handled.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    channel.wake();
    channel.wake();
    channel.wake();
    await tick();
    expect(handled).toHaveLength(1);
    release();
    await tick();
    await tick();
    // The two wakes during the first delivery became one.
    expect(handled).toHaveLength(2);
  });
});
