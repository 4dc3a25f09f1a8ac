import { afterEach, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Queue, Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { ContextualTaskSpan, TraceTask, TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, redisConnection, uniqueQueueName } from './support/queues.js';
import { inRequest, parentSpanId, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();
const closeAfterTest: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(closeAfterTest.splice(0).map((closable) => closable.close()));
});

const bullmqTelemetry = () => new BullMQOtel({ tracerName: 'bullmq', version: '6.7.0' });
const fromBullmq = (span: ReadableSpan) => span.instrumentationScope.name === 'bullmq';


describe('interop with BullMQ telemetry (bullmq-otel)', () => {
  it('continues a job enqueued by a plain Queue with bullmq-otel', async () => {
    const queueName = uniqueQueueName('from-bullmq');

    @Processor(queueName)
    @TraceTask(new ContextualTaskSpan())
    class ContinuingProcessor extends WorkerHost {
      async process() {}
    }

    state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [ContinuingProcessor] });
    const producer = new Queue(queueName, { connection: redisConnection(), telemetry: bullmqTelemetry() });
    closeAfterTest.push(producer);
    await inRequest(() => producer.add('job', {}));

    // Wait for every span asserted on: the worker may end the task before the producer ends `add` and `request`.
    const spans = await waitForSpans(
      state.exporter,
      (all) =>
        spansNamed(all, 'task', queueName).length === 1 &&
        spansNamed(all, 'request').length === 1 &&
        all.some((span) => fromBullmq(span) && span.kind === SpanKind.PRODUCER),
    );
    const bullmqAdd = spans.find((span) => fromBullmq(span) && span.kind === SpanKind.PRODUCER)!;
    const [task] = spansNamed(spans, 'task', queueName);
    expect(bullmqAdd.name).toBe(`add ${queueName}.job`);
    expect(task.spanContext().traceId).toBe(spansNamed(spans, 'request')[0].spanContext().traceId);
    expect(parentSpanId(task)).toBe(bullmqAdd.spanContext().spanId);
    expect(task.attributes.span_id).toBe(bullmqAdd.spanContext().spanId);
  });

  it('lets a plain Worker with bullmq-otel continue a job from TracedQueue', async () => {
    const queueName = uniqueQueueName('to-bullmq');
    const queue = new Queue(queueName, { connection: redisConnection() });
    const worker = new Worker(queueName, async () => 'plain', {
      connection: redisConnection(),
      telemetry: bullmqTelemetry(),
    });
    closeAfterTest.push(worker, queue);
    const job = await inRequest(() => new TracedQueue(queue).add('job', {}));
    expect(await finished(job)).toBe('plain');

    const spans = await waitForSpans(
      state.exporter,
      (all) => spansNamed(all, `send ${queueName}`).length === 1 && all.some((span) => fromBullmq(span) && span.kind === SpanKind.CONSUMER),
    );
    const send = spansNamed(spans, `send ${queueName}`)[0];
    const bullmqProcess = spans.find((span) => fromBullmq(span) && span.kind === SpanKind.CONSUMER)!;
    expect(bullmqProcess.name).toBe(`process ${queueName}`);
    expect(bullmqProcess.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(parentSpanId(bullmqProcess)).toBe(send.spanContext().spanId);
  });

  it('lets a plain Worker with bullmq-otel continue each job of a TracedQueue addBulk under that job’s create span', async () => {
    const queueName = uniqueQueueName('bulk-to-bullmq');
    const queue = new Queue(queueName, { connection: redisConnection() });
    const worker = new Worker(queueName, async () => 'plain', { connection: redisConnection(), telemetry: bullmqTelemetry() });
    closeAfterTest.push(worker, queue);
    const jobs = await inRequest(() => new TracedQueue(queue).addBulk([{ name: 'a', data: {} }, { name: 'b', data: {} }]));
    await Promise.all(jobs.map((job) => finished(job)));

    const consumers = (all: ReadableSpan[]) => all.filter((span) => fromBullmq(span) && span.kind === SpanKind.CONSUMER);
    const spans = await waitForSpans(state.exporter, (all) => consumers(all).length === 2 && spansNamed(all, `send ${queueName}`).length === 1);
    for (const job of jobs) {
      const create = spansNamed(spans, `create ${queueName}`).find((span) => span.attributes['messaging.message.id'] === job.id)!;
      const bullmqProcess = consumers(spans).find((span) => span.attributes['bullmq.job.id'] === job.id)!;
      expect(bullmqProcess.spanContext().traceId).toBe(create.spanContext().traceId);
      expect(parentSpanId(bullmqProcess)).toBe(create.spanContext().spanId);
    }
  });

  it('nests a DefaultTaskSpan under BullMQ’s own consumer span when the worker has telemetry', async () => {
    const queueName = uniqueQueueName('both');

    @Processor(queueName)
    class DefaultProcessor extends WorkerHost {
      async process() {}
    }

    state.app = await startApp({
      imports: [BullModule.registerQueue({ name: queueName, telemetry: bullmqTelemetry() })],
      providers: [DefaultProcessor],
    });
    await queueOf(state.app, queueName).add('job', {});

    // BullMQ ends its `process` span after moving the job to completed, so after the task span: wait for both.
    const spans = await waitForSpans(
      state.exporter,
      (all) => spansNamed(all, 'task', queueName).length === 1 && all.some((span) => fromBullmq(span) && span.kind === SpanKind.CONSUMER),
    );
    const [task] = spansNamed(spans, 'task', queueName);
    const bullmqProcess = spans.find((span) => fromBullmq(span) && span.kind === SpanKind.CONSUMER)!;
    expect(parentSpanId(task)).toBe(bullmqProcess.spanContext().spanId);
  });
});
