import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, type RegisterQueueOptions, WorkerHost } from '@nestjs/bullmq';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { BullMQOtel } from 'bullmq-otel';
import {
  ContextualTaskSpan,
  DefaultTaskSpan,
  getTracedQueueToken,
  JobTracingModule,
  type JobTracingModuleOptions,
  processSpanName,
  TraceTask,
  TracedQueue,
} from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, serverAttributes, uniqueQueueName } from './support/queues.js';
import { inRequest, parentSpanId, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

describe('messaging semantic conventions on spans', () => {
  it('gives the send and process spans the required messaging attributes, and keeps task_id and attempt', async () => {
    const { queueName, traced } = await contextualApp();
    const job = await inRequest(() => traced.add('welcome', {}));
    await finished(job);

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const [send] = spansNamed(spans, `send ${queueName}`);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'bullmq',
      'messaging.operation.name': 'add',
      'messaging.operation.type': 'send',
      'messaging.destination.name': queueName,
      'messaging.message.id': job.id,
    });
    const [task] = spansNamed(spans, 'task', queueName);
    expect(task.kind).toBe(SpanKind.CONSUMER);
    expect(task.attributes).toMatchObject({
      task_id: job.id,
      attempt: 1,
      'messaging.system': 'bullmq',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': queueName,
      'messaging.message.id': job.id,
    });
  });

  it('names spans `process <queue>` when a strategy is given processSpanName, for both built-ins', async () => {
    const contextual = uniqueQueueName('process-name');
    const plain = uniqueQueueName('process-name-default');

    @Processor(contextual)
    @TraceTask(new ContextualTaskSpan({ name: processSpanName }))
    class ContextualProcessor extends WorkerHost {
      async process() {
        return 'done';
      }
    }

    @Processor(plain)
    class PlainProcessor extends WorkerHost {
      async process() {
        return 'done';
      }
    }

    state.app = await startApp({
      tracing: { makeSpan: new DefaultTaskSpan({ name: processSpanName }) },
      imports: [BullModule.registerQueue({ name: contextual }, { name: plain }), JobTracingModule.forFeature(contextual, plain)],
      providers: [ContextualProcessor, PlainProcessor],
    });
    await finished(await inRequest(() => state.app!.get<TracedQueue>(getTracedQueueToken(contextual)).add('a', {})));
    await finished(await state.app.get<TracedQueue>(getTracedQueueToken(plain)).add('b', {}));

    const spans = await waitForSpans(
      state.exporter,
      (all) => spansNamed(all, `process ${contextual}`).length === 1 && spansNamed(all, `process ${plain}`).length === 1,
    );
    const [processSpan] = spansNamed(spans, `process ${contextual}`);
    expect(parentSpanId(processSpan)).toBe(spansNamed(spans, `send ${contextual}`)[0].spanContext().spanId);
    expect(spansNamed(spans, 'task')).toHaveLength(0);
  });
});

/** An app whose one processor continues the stored trace (`child`), with its TracedQueue. */
async function contextualApp(tracing?: JobTracingModuleOptions, queueOptions: Omit<RegisterQueueOptions, 'name'> = {}) {
  const queueName = uniqueQueueName('conventions');

  @Processor(queueName)
  @TraceTask(new ContextualTaskSpan())
  class ContinuingProcessor extends WorkerHost {
    async process() {
      return 'done';
    }
  }

  state.app = await startApp({
    tracing,
    imports: [BullModule.registerQueue({ name: queueName, ...queueOptions }), JobTracingModule.forFeature(queueName)],
    providers: [ContinuingProcessor],
  });
  return { queueName, traced: state.app.get<TracedQueue>(getTracedQueueToken(queueName)) };
}

const spanIdOf = (span: ReadableSpan) => span.spanContext().spanId;
const linkedIds = (span: ReadableSpan) => span.links.map((link) => link.context.spanId);
const SERVER = serverAttributes;

describe('messaging conventions v1.44', () => {
  it('addBulk of 3 in a request: 3 PRODUCER create spans, 1 CLIENT send linking them with message ids; each task a child of its create span, linked to it', async () => {
    const { queueName, traced } = await contextualApp();
    const jobs = await inRequest(() => traced.addBulk([1, 2, 3].map((n) => ({ name: `job-${n}`, data: { n } }))));
    await Promise.all(jobs.map((job) => finished(job)));

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 3 && spansNamed(all, 'request').length === 1);
    const [request] = spansNamed(spans, 'request');
    const creates = spansNamed(spans, `create ${queueName}`);
    const sends = spansNamed(spans, `send ${queueName}`);
    expect(creates).toHaveLength(3);
    expect(sends).toHaveLength(1);
    const [send] = sends;

    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(parentSpanId(send)).toBe(spanIdOf(request));
    expect(send.attributes).toMatchObject({
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'addBulk',
      'messaging.destination.name': queueName,
      'messaging.batch.message_count': 3,
      ...SERVER(),
    });
    expect(send.attributes).not.toHaveProperty('messaging.message.id');
    for (const [index, job] of jobs.entries()) {
      const create = creates.find((span) => span.attributes['messaging.message.id'] === job.id)!;
      expect(create.kind).toBe(SpanKind.PRODUCER);
      expect(parentSpanId(create)).toBe(spanIdOf(request));
      expect(create.attributes).toMatchObject({
        'messaging.system': 'bullmq',
        'messaging.operation.type': 'create',
        'messaging.operation.name': 'create',
        'messaging.destination.name': queueName,
        ...SERVER(),
      });
      expect(send.links[index].context.spanId).toBe(spanIdOf(create));
      expect(send.links[index].attributes).toEqual({ 'messaging.message.id': job.id });

      const task = spansNamed(spans, 'task', queueName).find((span) => span.attributes.task_id === job.id)!;
      expect(task.spanContext().traceId).toBe(request.spanContext().traceId);
      expect(parentSpanId(task)).toBe(spanIdOf(create));
      expect(linkedIds(task)).toEqual([spanIdOf(create)]);
      expect(task.attributes).toMatchObject(SERVER());
    }
  });

  it('with createSpans: false and creationLink: false, the shape before v1.44 exactly: one PRODUCER send, every task its child, no link', async () => {
    const { queueName, traced } = await contextualApp({ createSpans: false, creationLink: false });
    const jobs = await inRequest(() => traced.addBulk([1, 2, 3].map((n) => ({ name: `job-${n}`, data: { n } }))));
    await Promise.all(jobs.map((job) => finished(job)));

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 3 && spansNamed(all, 'request').length === 1);
    expect(spansNamed(spans, `create ${queueName}`)).toHaveLength(0);
    const [send] = spansNamed(spans, `send ${queueName}`);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.links).toEqual([]);
    expect(parentSpanId(send)).toBe(spanIdOf(spansNamed(spans, 'request')[0]));
    expect(send.attributes).toMatchObject({ 'messaging.operation.name': 'addBulk', 'messaging.batch.message_count': 3 });
    for (const task of spansNamed(spans, 'task', queueName)) {
      expect(parentSpanId(task)).toBe(spanIdOf(send));
      expect(task.links).toEqual([]);
    }
  });

  it('a single add keeps one PRODUCER send and no create span; its task is a child of the send and links to it, unless creationLink: false', async () => {
    for (const creationLink of [true, false]) {
      const { queueName, traced } = await contextualApp({ creationLink });
      await finished(await inRequest(() => traced.add('one', {})));
      const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
      expect(spansNamed(spans, `create ${queueName}`)).toHaveLength(0);
      const [send] = spansNamed(spans, `send ${queueName}`);
      expect(send.kind).toBe(SpanKind.PRODUCER);
      expect(send.attributes).not.toHaveProperty('messaging.batch.message_count');
      const [task] = spansNamed(spans, 'task', queueName);
      expect(parentSpanId(task)).toBe(spanIdOf(send));
      expect(linkedIds(task)).toEqual(creationLink ? [spanIdOf(send)] : []);
      await state.app!.close();
      state.app = undefined;
      state.exporter.reset();
    }
  });

  it("inside bullmq-otel's process span, the task is that span's child and links to its creation context, creationLink: false or not", async () => {
    const { queueName, traced } = await contextualApp(
      { creationLink: false },
      { telemetry: new BullMQOtel({ tracerName: 'bullmq', version: '6.7.0' }) },
    );
    const [job] = await inRequest(() => traced.addBulk([{ name: 'in-ambient', data: {} }]));
    await finished(job);

    const fromBullmq = (span: ReadableSpan) => span.instrumentationScope.name === 'bullmq' && span.kind === SpanKind.CONSUMER;
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1 && all.some(fromBullmq));
    const [create] = spansNamed(spans, `create ${queueName}`);
    const bullmqProcess = spans.find(fromBullmq)!;
    const [task] = spansNamed(spans, 'task', queueName);
    // bullmq-otel continues the job's creation context, and the task runs inside its span.
    expect(parentSpanId(bullmqProcess)).toBe(spanIdOf(create));
    expect(parentSpanId(task)).toBe(spanIdOf(bullmqProcess));
    expect(linkedIds(task)).toEqual([spanIdOf(create)]);
  });
});

describe('messaging conventions v1.44: what is not an ambient span', () => {
  it('a span that ended, which an inline Worker built inside it keeps in its loop, is not the parent: the creation context is', async () => {
    const queueName = uniqueQueueName('conventions-leak');
    // The app, and so the inline processor's Worker, starts inside a request span that then ends.
    state.app = await inRequest(() =>
      startApp({
        tracing: { makeSpan: new ContextualTaskSpan() },
        imports: [BullModule.registerQueue({ name: queueName, processors: [async () => 'inline'] })],
      }),
    );
    const traced = new TracedQueue(queueOf(state.app, queueName));
    const job = await inRequest(() => traced.add('after', {}));
    expect(await finished(job)).toBe('inline');

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const [send] = spansNamed(spans, `send ${queueName}`);
    const [task] = spansNamed(spans, 'task', queueName);
    expect(parentSpanId(task)).toBe(spanIdOf(send));
    expect(linkedIds(task)).toEqual([spanIdOf(send)]);
  });
});
