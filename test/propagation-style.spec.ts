import { afterEach, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { type Job, Queue, Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import {
  ContextualTaskSpan,
  type JobTracingModuleOptions,
  type PropagationStyle,
  TraceTask,
  TracedQueue,
} from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, redisConnection, uniqueQueueName } from './support/queues.js';
import { inRequest, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();
const closeAfterTest: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(closeAfterTest.splice(0).map((closable) => closable.close()));
});

const STYLE_KEY = 'nestjs-job-tracing-propagation';

/** An app whose one processor uses `new ContextualTaskSpan({ propagation })`, and its TracedQueue. */
async function appWithProcessor(propagation?: PropagationStyle, tracing?: JobTracingModuleOptions) {
  const queueName = uniqueQueueName('propagation');

  @Processor(queueName)
  @TraceTask(new ContextualTaskSpan({ propagation }))
  class StyledProcessor extends WorkerHost {
    async process(job: Job) {
      return job.name;
    }
  }

  state.app = await startApp({ tracing, imports: [BullModule.registerQueue({ name: queueName })], providers: [StyledProcessor] });
  return { queueName, traced: new TracedQueue(queueOf(state.app, queueName)) };
}

/** Enqueues each job in a request span of its own; resolves with each job's task span and the send span it stored. */
async function runJobs(queueName: string, traced: TracedQueue, jobs: Array<[string, object]>) {
  const added = [] as Job[];
  for (const [name, opts] of jobs) added.push(await inRequest(() => traced.add(name, {}, opts)));
  const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === jobs.length, 20_000);
  return Object.fromEntries(
    added.map((job) => {
      const task = spansNamed(spans, 'task', queueName).find((span) => span.attributes.task_id === job.id)!;
      const send = spansNamed(spans, `send ${queueName}`).find((span) => span.attributes['messaging.message.id'] === job.id)!;
      return [job.name, { job, task, send }];
    }),
  );
}

// A child also links to its creation context, as the messaging conventions v1.44 ask.
const isChildOf = (task: ReadableSpan, send: ReadableSpan) => {
  expect(task.spanContext().traceId).toBe(send.spanContext().traceId);
  expect(task.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
  expect(task.links.map((link) => link.context.spanId)).toEqual([send.spanContext().spanId]);
};
const isLinkedTo = (task: ReadableSpan, send: ReadableSpan) => {
  expect(task.parentSpanContext).toBeUndefined();
  expect(task.spanContext().traceId).not.toBe(send.spanContext().traceId);
  expect(task.links.map((link) => link.context.spanId)).toEqual([send.spanContext().spanId]);
  expect(task.links[0].context.traceId).toBe(send.spanContext().traceId);
  expect(task.attributes).toMatchObject({
    trace_id: send.spanContext().traceId,
    span_id: send.spanContext().spanId,
    trace_flags: '01',
  });
};
const isUnrelatedTo = (task: ReadableSpan, send: ReadableSpan) => {
  expect(task.parentSpanContext).toBeUndefined();
  expect(task.spanContext().traceId).not.toBe(send.spanContext().traceId);
  expect(task.links).toEqual([]);
};

describe('propagation style: child, link or none, per processor and per job', () => {
  it("a job's style wins over the default processor's child style; without one nothing extra is stored", async () => {
    const { queueName, traced } = await appWithProcessor();
    const run = await runJobs(queueName, traced, [
      ['default', {}],
      ['link', { propagation: 'link' }],
      ['none', { propagation: 'none' }],
    ]);
    isChildOf(run.default.task, run.default.send);
    isLinkedTo(run.link.task, run.link.send);
    isUnrelatedTo(run.none.task, run.none.send);

    const stored = async (name: string) =>
      JSON.parse((await traced.queue.getJob(run[name].job.id!))!.opts.telemetry!.metadata!) as Record<string, string>;
    expect(Object.keys(await stored('default'))).toEqual(['traceparent']);
    expect(await stored('link')).toMatchObject({ traceparent: expect.any(String), [STYLE_KEY]: 'link' });
    expect((await traced.queue.getJob(run.link.job.id!))!.opts).not.toHaveProperty('propagation');
  });

  it("a processor's link style applies to jobs without a style; a job's child style still wins", async () => {
    const { queueName, traced } = await appWithProcessor('link');
    const run = await runJobs(queueName, traced, [
      ['default', {}],
      ['child', { propagation: 'child' }],
    ]);
    isLinkedTo(run.default.task, run.default.send);
    isChildOf(run.child.task, run.child.send);
  });

  it('a job style set per job in addBulk travels with each job', async () => {
    const { queueName, traced } = await appWithProcessor();
    const jobs = await inRequest(() =>
      traced.addBulk([
        { name: 'child', data: {} },
        { name: 'link', data: {}, opts: { propagation: 'link' } },
      ]),
    );
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 2);
    // Each job's own create span is what its task continues or links to.
    const createOf = (job: Job) => spansNamed(spans, `create ${queueName}`).find((span) => span.attributes['messaging.message.id'] === job.id)!;
    const taskOf = (job: Job) => spansNamed(spans, 'task', queueName).find((span) => span.attributes.task_id === job.id)!;
    isChildOf(taskOf(jobs[0]), createOf(jobs[0]));
    isLinkedTo(taskOf(jobs[1]), createOf(jobs[1]));
  });

  it('a long delay (longDelayMs) defaults to link; a short one stays a child; a job that chose child stays one', async () => {
    const { queueName, traced } = await appWithProcessor(undefined, { longDelayMs: 400 });
    const run = await runJobs(queueName, traced, [
      ['short', { delay: 50 }],
      ['long', { delay: 500 }],
      ['long-child', { delay: 500, propagation: 'child' }],
    ]);
    isChildOf(run.short.task, run.short.send);
    isLinkedTo(run.long.task, run.long.send);
    isChildOf(run['long-child'].task, run['long-child'].send);
  });

  it('rejects a longDelayMs that is not a number of milliseconds at start-up', async () => {
    await expect(startApp({ tracing: { longDelayMs: -1 } })).rejects.toThrow(
      'longDelayMs must be a number of milliseconds, 0 or more (Infinity: never); got a number',
    );
  });

  it('lets a plain Worker with bullmq-otel continue a job that carries a style', async () => {
    const queueName = uniqueQueueName('style-to-bullmq');
    const queue = new Queue(queueName, { connection: redisConnection() });
    const worker = new Worker(queueName, async () => 'plain', {
      connection: redisConnection(),
      telemetry: new BullMQOtel({ tracerName: 'bullmq', version: '6.7.0' }),
    });
    closeAfterTest.push(worker, queue);
    const job = await inRequest(() => new TracedQueue(queue).add('job', {}, { propagation: 'link' }));
    expect(await finished(job)).toBe('plain');

    const spans = await waitForSpans(state.exporter, (all) =>
      all.some((span) => span.instrumentationScope.name === 'bullmq' && span.kind === SpanKind.CONSUMER),
    );
    const [send] = spansNamed(spans, `send ${queueName}`);
    const bullmqProcess = spans.find((span) => span.instrumentationScope.name === 'bullmq' && span.kind === SpanKind.CONSUMER)!;
    expect(bullmqProcess.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    await queue.obliterate({ force: true });
  });

  it('rejects a propagation value that is not a style with a clear error, and enqueues nothing', async () => {
    const queue = new Queue(uniqueQueueName('bad-style'), { connection: redisConnection() });
    closeAfterTest.push(queue);
    const traced = new TracedQueue(queue);
    await expect(traced.add('job', {}, { propagation: 'sideways' as PropagationStyle })).rejects.toThrow(
      'job "job": propagation must be one of child, link, none; got "sideways"',
    );
    await expect(
      traced.addBulk([{ name: 'ok', data: {} }, { name: 'bad', data: {}, opts: { propagation: 42 as unknown as PropagationStyle } }]),
    ).rejects.toThrow(TypeError);
    await expect(
      traced.upsertJobScheduler('bad', { every: 1000 }, { opts: { propagation: 'child' } }),
    ).rejects.toThrow('propagation "child" would make every run part of the creator\'s trace');
    expect(await queue.count()).toBe(0);
    expect(await queue.getJobSchedulersCount()).toBe(0);
    expect(() => new ContextualTaskSpan({ propagation: 'LINK' as PropagationStyle })).toThrow(
      'ContextualTaskSpan: propagation must be one of child, link, none; got "LINK"',
    );
  });
});
