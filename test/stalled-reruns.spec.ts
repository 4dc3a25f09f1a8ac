import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

describe('a stalled job that runs again', () => {
  it('keeps its attempt number, and its second span carries the stall count', async () => {
    const queueName = uniqueQueueName('stalled');
    const runs: Array<{ attemptsMade: number; stalledCounter: number }> = [];

    // No lock renewal and a 1 s lock: a run that takes longer loses its lock, and the
    // stalled-job check moves the job back to wait, as when a worker's event loop is blocked.
    @Processor(queueName, { lockDuration: 1000, stalledInterval: 500, skipLockRenewal: true, maxStalledCount: 1, concurrency: 2 })
    class SlowOnceProcessor extends WorkerHost {
      async process(job: Job) {
        runs.push({ attemptsMade: job.attemptsMade, stalledCounter: job.stalledCounter });
        if (job.stalledCounter === 0) await new Promise((resolve) => setTimeout(resolve, 4000));
        return 'ran';
      }
    }

    state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [SlowOnceProcessor] });
    const job = await queueOf(state.app, queueName).add('slow', {});
    expect(await finished(job, 20_000)).toBe('ran');

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 2, 20_000);
    expect(runs).toEqual([
      { attemptsMade: 0, stalledCounter: 0 },
      { attemptsMade: 0, stalledCounter: 1 },
    ]);
    const tasks = spansNamed(spans, 'task', queueName).filter((span) => span.attributes.task_id === job.id);
    const rerun = tasks.find((span) => span.attributes['messaging.bullmq.job.stalled_count'] !== undefined)!;
    const stalled = tasks.find((span) => span !== rerun)!;
    expect(stalled.attributes.attempt).toBe(1);
    expect(stalled.attributes['messaging.bullmq.job.stalled_count']).toBeUndefined();
    expect(rerun.attributes.attempt).toBe(1);
    expect(rerun.attributes['messaging.bullmq.job.stalled_count']).toBe(1);
    expect(rerun.attributes['messaging.bullmq.job.attempts_made']).toBeUndefined();
    expect(rerun.attributes['messaging.bullmq.job.wait_ms']).toBeUndefined();
    expect(rerun.links).toEqual([]);
  }, 40_000);
});
