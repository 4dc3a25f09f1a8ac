import { describe, expect, it } from '@jest/globals';
import { BullModule, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { trace } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { currentTaskFields, SkipTaskTracing } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

interface Seen {
  what: string;
  attemptsMade: number;
  spanId?: string;
  fields: Record<string, unknown>;
}

function seen(what: string, job: Job): Seen {
  return { what, attemptsMade: job.attemptsMade, spanId: trace.getActiveSpan()?.spanContext().spanId, fields: currentTaskFields() };
}

describe('the active event', () => {
  it('reaches @OnWorkerEvent and worker.on listeners inside its attempt\'s span, just before the processor, retries included', async () => {
    const queueName = uniqueQueueName('active-event');
    const order: Seen[] = [];
    @Processor(queueName)
    class ActiveProcessor extends WorkerHost {
      async process(job: Job) {
        order.push(seen('process', job));
        if (job.attemptsMade === 0) throw new Error('first attempt fails');
        return 'done';
      }
      @OnWorkerEvent('active')
      onActive(job: Job) {
        order.push(seen('OnWorkerEvent active', job));
      }
      onApplicationBootstrap() {
        this.worker.on('active', (job) => order.push(seen('worker.on active', job)));
      }
    }
    const app = (state.app = await startApp({
      tracing: { logAttempts: false },
      imports: [BullModule.registerQueue({ name: queueName })],
      providers: [ActiveProcessor],
    }));
    const job = await queueOf(app, queueName).add('a', {}, { attempts: 2, backoff: { type: 'fixed', delay: 20 } });
    expect(await finished(job)).toBe('done');
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 2);
    const [first, second] = spansNamed(spans, 'task', queueName).sort((a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt));

    expect(order.map(({ what, attemptsMade }) => `${what} ${attemptsMade}`)).toEqual([
      'OnWorkerEvent active 0',
      'worker.on active 0',
      'process 0',
      'OnWorkerEvent active 1',
      'worker.on active 1',
      'process 1',
    ]);
    for (const entry of order) {
      const span = entry.attemptsMade === 0 ? first : second;
      expect(entry.spanId).toBe(span.spanContext().spanId);
      expect(entry.fields).toMatchObject({ task_id: job.id, attempt: entry.attemptsMade + 1, span_id: span.spanContext().spanId });
    }
  });

  it('a listener that throws fails no job: its error goes to the Worker\'s error listeners', async () => {
    const queueName = uniqueQueueName('active-throws');
    const errors: unknown[] = [];
    @Processor(queueName)
    class ThrowingListenerProcessor extends WorkerHost {
      async process() {
        return 'done';
      }
      @OnWorkerEvent('active')
      onActive() {
        throw new Error('listener broke');
      }
      @OnWorkerEvent('error')
      onError(error: unknown) {
        errors.push(error);
      }
    }
    const app = (state.app = await startApp({
      tracing: { logAttempts: false },
      imports: [BullModule.registerQueue({ name: queueName })],
      providers: [ThrowingListenerProcessor],
    }));
    const job = await queueOf(app, queueName).add('a', {});
    expect(await finished(job)).toBe('done');
    expect(errors).toEqual([expect.objectContaining({ message: 'listener broke' })]);
  });

  it('is not held back for a processor that skips tracing: it comes before the processor, outside any span', async () => {
    const queueName = uniqueQueueName('active-untraced');
    const order: Seen[] = [];
    @SkipTaskTracing()
    @Processor(queueName)
    class UntracedProcessor extends WorkerHost {
      async process(job: Job) {
        order.push(seen('process', job));
        return 'done';
      }
      @OnWorkerEvent('active')
      onActive(job: Job) {
        order.push(seen('active', job));
      }
    }
    const app = (state.app = await startApp({
      imports: [BullModule.registerQueue({ name: queueName })],
      providers: [UntracedProcessor],
    }));
    const job = await queueOf(app, queueName).add('a', {});
    expect(await finished(job)).toBe('done');
    expect(order.map(({ what, spanId, fields }) => ({ what, spanId, fields }))).toEqual([
      { what: 'active', spanId: undefined, fields: {} },
      { what: 'process', spanId: undefined, fields: {} },
    ]);
  });
});
