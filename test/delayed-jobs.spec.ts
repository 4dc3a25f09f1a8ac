import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { Job } from 'bullmq';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

describe('delay and wait on the task span', () => {
  it('carries the planned delay and the real wait since the delay ended, as BullMQ timestamped them', async () => {
    const queueName = uniqueQueueName('delayed');

    @Processor(queueName)
    class RetriedOnceProcessor extends WorkerHost {
      async process(job: Job) {
        if (job.name === 'retried' && job.attemptsMade === 0) throw new Error('first attempt fails');
      }
    }

    state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [RetriedOnceProcessor] });
    const queue = queueOf(state.app, queueName);
    const delayed = await queue.add('delayed', {}, { delay: 1500 });
    const immediate = await queue.add('immediate', {});
    const retried = await queue.add('retried', {}, { delay: 300, attempts: 2, backoff: { type: 'fixed', delay: 200 } });
    await Promise.all([delayed, immediate, retried].map((job) => finished(job)));

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 4);
    const taskOf = (job: Job, attempt = 1) =>
      spansNamed(spans, 'task', queueName).find((span) => span.attributes.task_id === job.id && span.attributes.attempt === attempt)!;
    const stored = async (job: Job) => (await queue.getJob(job.id!))!;

    const delayedJob = await stored(delayed);
    const delayedTask = taskOf(delayed);
    expect(delayedTask.attributes['messaging.bullmq.job.delay_ms']).toBe(1500);
    expect(delayedTask.attributes['messaging.bullmq.job.wait_ms']).toBe(
      Math.max(0, delayedJob.processedOn! - (delayedJob.timestamp + 1500)),
    );
    // It really waited out its delay before the attempt started.
    expect(hrTimeToMilliseconds(delayedTask.startTime)).toBeGreaterThanOrEqual(delayedJob.timestamp + 1500);

    const immediateJob = await stored(immediate);
    const immediateTask = taskOf(immediate);
    expect(immediateTask.attributes['messaging.bullmq.job.delay_ms']).toBeUndefined();
    expect(immediateTask.attributes['messaging.bullmq.job.wait_ms']).toBe(immediateJob.processedOn! - immediateJob.timestamp);

    // A retry's wait is its backoff, which BullMQ does not timestamp: only the delay is repeated.
    expect(taskOf(retried, 1).attributes['messaging.bullmq.job.wait_ms']).toEqual(expect.any(Number));
    expect(taskOf(retried, 2).attributes['messaging.bullmq.job.delay_ms']).toBe(300);
    expect(taskOf(retried, 2).attributes['messaging.bullmq.job.wait_ms']).toBeUndefined();
  });
});
