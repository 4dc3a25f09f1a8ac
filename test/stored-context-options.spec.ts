import { beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { context, propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Job, JobsOptions } from 'bullmq';
import { ContextualTaskSpan, getTracedQueueToken, JobTracingModule, TracedQueue, TraceTask } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { inRequest, parentSpanId, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';

beforeAll(() => {
  // Baggage needs the application's propagator: W3C trace context plus W3C baggage, as sdk-node's default.
  propagation.disable();
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
});

/** A ContextualTaskSpan worker whose jobs return the `tenant` baggage entry they see, and a TracedQueue for it. */
async function startWorker(queueName: string, defaultJobOptions?: JobsOptions) {
  @TraceTask(new ContextualTaskSpan())
  @Processor(queueName)
  class BaggageProcessor extends WorkerHost {
    async process(_job: Job) {
      return propagation.getBaggage(context.active())?.getEntry('tenant')?.value ?? null;
    }
  }
  state.app = await startApp({
    imports: [BullModule.registerQueue({ name: queueName, defaultJobOptions }), JobTracingModule.forFeature(queueName)],
    providers: [BaggageProcessor],
  });
  return state.app.get<TracedQueue>(getTracedQueueToken(queueName));
}

async function taskSpanOf(queueName: string) {
  const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
  return spansNamed(spans, 'task', queueName)[0];
}

describe('what a job stores decides its parent', () => {
  it.each([
    ['the job', undefined, { telemetry: { omitContext: true } }],
    ["the queue's defaultJobOptions", { telemetry: { omitContext: true } }, undefined],
  ])('stores no context when %s asks BullMQ to omit it', async (_where, queueDefaults, jobOptions) => {
    const queueName = uniqueQueueName('omit');
    const tracedQueue = await startWorker(queueName, queueDefaults);

    const job = await inRequest(() => tracedQueue.add('job', {}, jobOptions));
    await finished(job);

    const stored = (await queueOf(state.app!, queueName).getJob(job.id!))!;
    expect(stored.opts.telemetry?.metadata).toBeUndefined();
    expect(stored.opts.telemetry?.omitContext).toBe(true);
    const task = await taskSpanOf(queueName);
    const [request] = spansNamed(state.exporter.getFinishedSpans(), 'request');
    expect(task.spanContext().traceId).not.toBe(request.spanContext().traceId);
    expect(task.parentSpanContext).toBeUndefined();
  });

  it("keeps the metadata the caller put in opts.telemetry, and the worker continues that trace", async () => {
    const queueName = uniqueQueueName('caller-metadata');
    const tracedQueue = await startWorker(queueName);
    const metadata = JSON.stringify({ traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` });

    const job = await inRequest(() => tracedQueue.add('job', {}, { telemetry: { metadata } }));
    await finished(job);

    expect((await queueOf(state.app!, queueName).getJob(job.id!))!.opts.telemetry?.metadata).toBe(metadata);
    const task = await taskSpanOf(queueName);
    expect(task.spanContext().traceId).toBe(CALLER_TRACE_ID);
    expect(parentSpanId(task)).toBe(CALLER_SPAN_ID);
  });

  it("puts the stored baggage into the worker's active context", async () => {
    const queueName = uniqueQueueName('baggage');
    await startWorker(queueName);
    const metadata = JSON.stringify({
      traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`,
      baggage: 'tenant=acme',
    });

    const job = await queueOf(state.app!, queueName).add('job', {}, { telemetry: { metadata } });

    expect(await finished(job)).toBe('acme');
    expect(parentSpanId(await taskSpanOf(queueName))).toBe(CALLER_SPAN_ID);
  });

  it('carries the producer’s baggage from TracedQueue to the worker', async () => {
    const queueName = uniqueQueueName('baggage-producer');
    const tracedQueue = await startWorker(queueName);
    const withTenant = propagation.setBaggage(context.active(), propagation.createBaggage({ tenant: { value: 'globex' } }));

    const job = await context.with(withTenant, () => inRequest(() => tracedQueue.add('job', {})));

    expect(await finished(job)).toBe('globex');
    expect((await taskSpanOf(queueName)).spanContext().traceId).toBe(
      spansNamed(state.exporter.getFinishedSpans(), 'request')[0].spanContext().traceId,
    );
  });
});

describe('a thrown value that is not an Error', () => {
  it("fails the job and the span with error.type '_OTHER'", async () => {
    const queueName = uniqueQueueName('non-error');
    @Processor(queueName)
    class ThrowsStringProcessor extends WorkerHost {
      async process() {
        throw 'plain string'; // eslint-disable-line no-throw-literal
      }
    }
    state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [ThrowsStringProcessor] });

    const job = await queueOf(state.app, queueName).add('job', {});

    await expect(finished(job)).rejects.toThrow('failed');
    const task = await taskSpanOf(queueName);
    expect(task.attributes['error.type']).toBe('_OTHER');
    expect(task.status).toEqual({ code: 2, message: 'plain string' });
    expect(task.events.find((event) => event.name === 'exception')?.attributes).toMatchObject({
      'exception.message': 'plain string',
    });
  });
});


