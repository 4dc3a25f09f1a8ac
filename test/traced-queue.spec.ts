import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { Queue } from 'bullmq';
import { TracedQueue, TracingContext } from '../lib/index.js';
import { redisConnection, uniqueQueueName } from './support/queues.js';
import { parentSpanId, setupTracing, spansNamed } from './support/tracing.js';

const EXPLICIT = new TracingContext()
  .withTraceId('4bf92f3577b34da6a3ce929d0e0e4736')
  .withSpanId('00f067aa0ba902b7')
  .withTraceFlags(1)
  .withTraceState('rojo=00f067aa0ba902b7');

describe('TracedQueue', () => {
  let exporter: InMemorySpanExporter;
  let queue: Queue;

  beforeAll(() => {
    exporter = setupTracing();
    queue = new Queue(uniqueQueueName('producer'), { connection: redisConnection() });
  });
  beforeEach(() => exporter.reset());
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
  });

  const storedCarrier = async (jobId: string | undefined) =>
    JSON.parse((await queue.getJob(jobId!))!.opts.telemetry!.metadata!) as Record<string, string>;

  it('stores the producer span in opts.telemetry.metadata and leaves the rest as given', async () => {
    const job = await trace.getTracer('test').startActiveSpan('request', async (span) => {
      const added = await new TracedQueue(queue).add('welcome', { to: 'a@example.com' }, { attempts: 3, priority: 2 });
      span.end();
      return added;
    });

    const [send] = spansNamed(exporter.getFinishedSpans(), `send ${queue.name}`);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.attributes).toMatchObject({ 'messaging.operation.name': 'add', 'messaging.message.id': job.id });
    expect(await storedCarrier(job.id)).toEqual({
      traceparent: `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`,
    });
    const stored = (await queue.getJob(job.id!))!;
    expect(stored.name).toBe('welcome');
    expect(stored.data).toEqual({ to: 'a@example.com' });
    expect(stored.opts).toMatchObject({ attempts: 3, priority: 2 });
    expect(send.attributes).not.toHaveProperty('to');
  });

  it('lets an explicit TracingContext win over the active one', async () => {
    const job = await trace.getTracer('test').startActiveSpan('ignored', async (span) => {
      const added = await new TracedQueue(queue).add('job', {}, { tracingContext: EXPLICIT });
      span.end();
      return added;
    });
    const [send] = spansNamed(exporter.getFinishedSpans(), `send ${queue.name}`);
    expect(send.spanContext().traceId).toBe(EXPLICIT.traceId);
    expect(parentSpanId(send)).toBe(EXPLICIT.spanId);
    const carrier = await storedCarrier(job.id);
    expect(carrier.traceparent).toBe(`00-${EXPLICIT.traceId}-${send.spanContext().spanId}-01`);
    expect(carrier.tracestate).toBe('rojo=00f067aa0ba902b7');
    expect((await queue.getJob(job.id!))!.opts).not.toHaveProperty('tracingContext');
  });

  it('stores the caller’s context itself when the producer span is off', async () => {
    const job = await new TracedQueue(queue, { producerSpan: false }).add('job', {}, { tracingContext: EXPLICIT });
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(await storedCarrier(job.id)).toEqual(EXPLICIT.toCarrier());
  });

  it('stores no context when there is none to store', async () => {
    const job = await new TracedQueue(queue, { producerSpan: false }).add('job', {});
    expect((await queue.getJob(job.id!))!.opts.telemetry).toBeUndefined();
  });

  it('addBulk: a create span per job, a CLIENT send linking each with its message id; a job’s explicit context is linked, not wrapped', async () => {
    const jobs = await trace.getTracer('test').startActiveSpan('request', async (span) => {
      const added = await new TracedQueue(queue).addBulk([
        { name: 'a', data: { n: 1 } },
        { name: 'b', data: { n: 2 }, opts: { tracingContext: EXPLICIT, delay: 10 } },
      ]);
      span.end();
      return added;
    });
    const spans = exporter.getFinishedSpans();
    const [request] = spansNamed(spans, 'request');
    const [send] = spansNamed(spans, `send ${queue.name}`);
    const creates = spansNamed(spans, `create ${queue.name}`);
    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(send.attributes).toMatchObject({ 'messaging.operation.name': 'addBulk', 'messaging.batch.message_count': 2 });
    expect(parentSpanId(send)).toBe(request.spanContext().spanId);
    expect(creates).toHaveLength(1);
    const [create] = creates;
    expect(create.kind).toBe(SpanKind.PRODUCER);
    expect(parentSpanId(create)).toBe(request.spanContext().spanId);
    expect(create.attributes).toMatchObject({ 'messaging.operation.type': 'create', 'messaging.message.id': jobs[0].id });
    expect(send.links.map((link) => [link.context.spanId, link.attributes])).toEqual([
      [create.spanContext().spanId, { 'messaging.message.id': jobs[0].id }],
      [EXPLICIT.spanId, { 'messaging.message.id': jobs[1].id }],
    ]);
    expect((await storedCarrier(jobs[0].id)).traceparent).toBe(`00-${create.spanContext().traceId}-${create.spanContext().spanId}-01`);
    expect((await storedCarrier(jobs[1].id)).traceparent).toBe(EXPLICIT.toCarrier().traceparent);
    expect((await queue.getJob(jobs[1].id!))!.opts.delay).toBe(10);
  });

  it('addBulk with createSpans: false: one PRODUCER send whose context every job stores, per-job explicit contexts winning', async () => {
    const jobs = await new TracedQueue(queue, { createSpans: false }).addBulk([
      { name: 'a', data: { n: 1 } },
      { name: 'b', data: { n: 2 }, opts: { tracingContext: EXPLICIT, delay: 10 } },
    ]);
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    const [send] = spansNamed(spans, `send ${queue.name}`);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.links).toEqual([]);
    expect(send.attributes).toMatchObject({
      'messaging.operation.name': 'addBulk',
      'messaging.batch.message_count': 2,
    });
    expect((await storedCarrier(jobs[0].id)).traceparent).toContain(send.spanContext().spanId);
    expect((await storedCarrier(jobs[1].id)).traceparent).toBe(EXPLICIT.toCarrier().traceparent);
    expect((await queue.getJob(jobs[1].id!))!.opts.delay).toBe(10);
  });

  it('records a failed add on the producer span and rethrows it', async () => {
    const closed = new Queue(uniqueQueueName('closed'), { connection: redisConnection() });
    await closed.close();
    await expect(new TracedQueue(closed).add('job', {})).rejects.toThrow();
    const [send] = spansNamed(exporter.getFinishedSpans(), `send ${closed.name}`);
    expect(send.status.code).toBe(SpanStatusCode.ERROR);
    expect(send.events.map((event) => event.name)).toContain('exception');
  });
});
