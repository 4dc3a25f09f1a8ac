import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { SpanKind } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { ContextualTaskSpan, InjectTracedQueue, JobTracingModule, TraceTask, TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { uniqueQueueName } from './support/queues.js';
import { inRequest, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

describe('TracedQueue.upsertJobScheduler', () => {
  it("covers the upsert with a PRODUCER span; a template's none style gives runs unlinked traces of their own", async () => {
    const queueName = uniqueQueueName('scheduled');
    const schedulerId = uniqueQueueName('cleanup');
    const data: unknown[] = [];

    @Processor(queueName)
    @TraceTask(new ContextualTaskSpan())
    class CleanupProcessor extends WorkerHost {
      constructor(@InjectTracedQueue(queueName) readonly queue: TracedQueue) {
        super();
      }
      async process(job: Job) {
        data.push(job.data);
      }
    }

    state.app = await startApp({
      imports: [BullModule.registerQueue({ name: queueName }), JobTracingModule.forFeature(queueName)],
      providers: [CleanupProcessor],
    });
    const { queue } = state.app.get(CleanupProcessor);
    try {
      const first = await inRequest(() =>
        queue.upsertJobScheduler(schedulerId, { every: 250 }, { name: 'cleanup', data: { days: 30 }, opts: { propagation: 'none' } }),
      );
      const runsOf = (all: Parameters<typeof spansNamed>[0]) => spansNamed(all, 'task', queueName);
      const spans = await waitForSpans(state.exporter, (all) => runsOf(all).length >= 2, 20_000);

      const [upsert] = spans.filter((span) => span.kind === SpanKind.PRODUCER);
      expect(upsert.name).toBe(`send ${queueName}`);
      expect(upsert.parentSpanContext?.spanId).toBe(spansNamed(spans, 'request')[0].spanContext().spanId);
      expect(upsert.attributes).toMatchObject({
        'messaging.operation.name': 'upsertJobScheduler',
        'messaging.bullmq.job_scheduler.id': schedulerId,
        'messaging.message.id': first!.id,
      });
      const runs = runsOf(spans).slice(0, 2);
      expect(new Set(runs.map((run) => run.spanContext().traceId)).size).toBe(2);
      for (const run of runs) {
        expect(run.spanContext().traceId).not.toBe(upsert.spanContext().traceId);
        expect(run.parentSpanContext).toBeUndefined();
        expect(run.links).toEqual([]);
        expect(run.attributes['messaging.bullmq.job_scheduler.id']).toBe(schedulerId);
      }
      expect(data.slice(0, 2)).toEqual([{ days: 30 }, { days: 30 }]);
    } finally {
      await queue.queue.removeJobScheduler(schedulerId);
    }
  });
});
