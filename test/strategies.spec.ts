import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, InjectQueue, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { Job, Queue } from 'bullmq';
import {
  ContextualTaskSpan,
  DefaultTaskSpan,
  JobTracingModule,
  type MakeSpan,
  SpanLevel,
  type TaskSpan,
  TraceTask,
  TracedQueue,
} from '../lib/index.js';
import { startApp } from './support/app.js';
import { uniqueQueueName } from './support/queues.js';
import { parentSpanId, setupTracing, spansNamed, waitForSpans } from './support/tracing.js';

let exporter: InMemorySpanExporter;
let app: INestApplicationContext | undefined;

beforeAll(() => {
  exporter = setupTracing();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  exporter.reset();
});

describe('DefaultTaskSpan', () => {
  it('makes a new root span named task with task_id, attempt and messaging attributes', async () => {
    const queueName = uniqueQueueName('default');

    @Processor(queueName)
    class DefaultProcessor extends WorkerHost {
      async process(job: Job) {
        return { doubled: job.data.n * 2, sawTraceId: trace.getActiveSpan()?.spanContext().traceId };
      }
    }

    app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [DefaultProcessor] });
    const queue = app.get<Queue>(`BullQueue_${queueName}`);
    // Even when added inside a span, DefaultTaskSpan does not continue it.
    const tracer = trace.getTracer('test');
    const request = tracer.startSpan('request');
    const job = await trace.getTracer('test').startActiveSpan('request-active', async (span) => {
      const added = await new TracedQueue(queue).add('compute', { n: 21 });
      span.end();
      return added;
    });
    request.end();

    const spans = await waitForSpans(exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const [task] = spansNamed(spans, 'task', queueName);
    expect(task.kind).toBe(SpanKind.CONSUMER);
    expect(parentSpanId(task)).toBeUndefined();
    expect(task.spanContext().traceId).not.toBe(spansNamed(spans, 'request-active')[0].spanContext().traceId);
    expect(task.attributes).toMatchObject({
      task_id: job.id,
      attempt: 1,
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': queueName,
      'messaging.message.id': job.id,
    });
    expect(task.status.code).toBe(SpanStatusCode.UNSET);
    expect(task.events.map((event) => event.name)).toEqual(['task.start', 'task.done']);
    expect(task.events[1].attributes?.latency_ms).toEqual(expect.any(Number));
    const finished = await job.waitUntilFinished(await queueEvents(queueName));
    expect(finished).toEqual({ doubled: 42, sawTraceId: task.spanContext().traceId });
  });
});

async function queueEvents(queueName: string) {
  const { QueueEvents } = await import('bullmq');
  const { redisConnection } = await import('./support/queues.js');
  const events = new QueueEvents(queueName, { connection: redisConnection() });
  await events.waitUntilReady();
  return events;
}
