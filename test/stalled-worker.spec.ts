import { afterAll, describe, expect, it } from '@jest/globals';
import { SpanStatusCode } from '@opentelemetry/api';
import { Queue } from 'bullmq';
import { produce, startWorker, type WorkerProcess } from './support/processes.js';
import { redisConnection, serverAttributes, uniqueQueueName } from './support/queues.js';

describe('a worker process killed mid-job', () => {
  const workers: WorkerProcess[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
  });

  /** Worker A takes the job and is killed; worker B finds it stalled and runs it. */
  async function killAndTakeOver(tracing: 'on' | 'off') {
    const queueName = uniqueQueueName(`stalled-${tracing}`);
    const env = { REDIS_URL: process.env.REDIS_URL!, QUEUE_NAME: queueName, TRACING: tracing };
    const doomed = await startWorker({ ...env, HANG: '1' });
    workers.push(doomed);
    const [job] = await produce(env, [{ name: 'hang', opts: { attempts: 2 } }]);
    await doomed.waitForLine((line) => line === `active ${job.id}`);
    await doomed.kill();
    // B's stalled checker (every 2 s, lock 4 s) moves the job back to wait; B then runs it.
    const rescuer = await startWorker({ ...env, HANG: '0', EXIT_AFTER: '1' });
    workers.push(rescuer);
    const report = await rescuer.exited();
    const queue = new Queue(queueName, { connection: redisConnection() });
    try {
      const stored = (await queue.getJob(job.id))!;
      const outcome = {
        state: await stored.getState(),
        returnvalue: String(stored.returnvalue).replace(String(rescuer.pid), '<rescuer pid>'),
        failedReason: stored.failedReason,
        attemptsMade: stored.attemptsMade,
        stalledCounter: stored.stalledCounter,
      };
      return { job, outcome, report };
    } finally {
      await queue.close();
    }
  }

  it('is taken over by another worker: its span there ends OK, and the outcome is the same without the library', async () => {
    const traced = await killAndTakeOver('on');
    const untraced = await killAndTakeOver('off');
    expect(traced.outcome).toEqual(untraced.outcome);
    expect(traced.outcome).toMatchObject({ state: 'completed', returnvalue: 'taken over by <rescuer pid>', stalledCounter: 1 });

    const { report, job, outcome } = traced;
    // The killed process's span is lost with it (it never ended); the rescuer's attempt has one span.
    expect(report.tasks).toEqual([
      expect.objectContaining({ jobId: job.id, attempt: outcome.attemptsMade, traceId: job.traceId, parentSpanId: job.sendSpanId, status: SpanStatusCode.UNSET }),
    ]);
    expect(report.tasks[0].errorType).toBeUndefined();
    // A single Redis host: server.address on the task span and on every metric point.
    expect(report.tasks[0].serverAddress).toBe(serverAttributes()['server.address']);
    expect(report.metricServerAddresses).toEqual([serverAttributes()['server.address']]);
    expect(report.started).toBe(report.ended);
    expect(report.unhandled).toEqual([]);
    expect(untraced.report.tasks).toEqual([]);
  }, 120_000);
});
