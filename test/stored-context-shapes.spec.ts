import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace';
import { type Job, Queue } from 'bullmq';
import { ContextualTaskSpan, TracedQueue, TracingContext } from '../lib/index.js';
import { finished, redisConnection, uniqueQueueName } from './support/queues.js';
import { withStoredContextJobs } from './support/stored-context-app.js';
import { setupTracing, spansNamed } from './support/tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

/**
 * Stored contexts of every shape that continues the trace: the usual
 * `{"traceparent":"00-…"}` (read by a fast path), and the shapes that differ
 * from it only a little and must still reach the general reader.
 */
const CONTINUED: Array<[string, string, { traceFlags: string; traceState?: string }]> = [
  ['the usual shape', JSON.stringify({ traceparent: TRACEPARENT }), { traceFlags: '01' }],
  ['flags other than 01', JSON.stringify({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-03` }), { traceFlags: '03' }],
  ['whitespace in the JSON', `{ "traceparent" : "${TRACEPARENT}" }`, { traceFlags: '01' }],
  ['a JSON escape in the traceparent', `{"traceparent":"\\u0030${TRACEPARENT.slice(1)}"}`, { traceFlags: '01' }],
  ['a future version', JSON.stringify({ traceparent: `01-${TRACE_ID}-${SPAN_ID}-01` }), { traceFlags: '01' }],
  [
    'a tracestate with blank members and spaces',
    JSON.stringify({ traceparent: TRACEPARENT, tracestate: ' congo=t61rcWkgMzE, ,rojo=00f067aa0ba902b7 ' }),
    { traceFlags: '01', traceState: ' congo=t61rcWkgMzE, ,rojo=00f067aa0ba902b7 ' },
  ],
  ['baggage beside the W3C headers', JSON.stringify({ traceparent: TRACEPARENT, baggage: 'tenant=acme' }), { traceFlags: '01' }],
];

/** What the handler saw: the W3C headers its own outgoing calls would carry, and one trace state entry. */
interface Seen {
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
  rojo?: string;
  tenant?: string;
}

let exporter: InMemorySpanExporter;
beforeAll(() => {
  exporter = setupTracing();
  // As an application that propagates baggage too would set it up.
  propagation.disable();
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
});

describe('stored trace context, in every shape that continues the trace', () => {
  const run = withStoredContextJobs(() => exporter, {
    queue: 'shapes',
    strategy: new ContextualTaskSpan(),
    contexts: CONTINUED.map(([name, metadata]) => [name, metadata]),
    async handle(): Promise<Seen> {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      return {
        ...carrier,
        rojo: trace.getActiveSpan()?.spanContext().traceState?.get('rojo'),
        tenant: propagation.getActiveBaggage()?.getEntry('tenant')?.value,
      };
    },
  });

  function taskSpanOf(job: Job): ReadableSpan {
    const span = spansNamed(exporter.getFinishedSpans(), 'task', run.queueName).find((candidate) => candidate.attributes.task_id === job.id);
    expect(span).toBeDefined();
    return span!;
  }

  it.each(CONTINUED)('continues a context stored with %s, without a warning', async (name, _metadata, expected) => {
    const job = run.jobs.get(name)!;
    const seen = (await finished(job)) as Seen;
    const span = taskSpanOf(job);
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(span.parentSpanContext?.isRemote).toBe(true);
    expect(span.attributes.trace_id).toBe(TRACE_ID);
    expect(span.attributes.span_id).toBe(SPAN_ID);
    expect(span.attributes.trace_flags).toBe(expected.traceFlags);
    expect(span.attributes.trace_state).toBe(expected.traceState);
    // Work inside the job propagates the same trace, from the task span.
    expect(seen.traceparent).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-01`);
    expect(run.logger.warnings.filter((warning) => warning.includes(`Job ${job.id} `))).toEqual([]);
  });

  it('carries the stored trace state on, in its W3C form, and can read it', async () => {
    const job = run.jobs.get('a tracestate with blank members and spaces')!;
    const seen = (await finished(job)) as Seen;
    expect(seen.tracestate).toBe('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    expect(seen.rojo).toBe('00f067aa0ba902b7');
    expect(taskSpanOf(job).parentSpanContext?.traceState?.serialize()).toBe('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
  });

  it('restores the stored baggage for the job, through the application’s propagator', async () => {
    const seen = (await finished(run.jobs.get('baggage beside the W3C headers')!)) as Seen;
    expect(seen.tenant).toBe('acme');
    expect(seen.baggage).toBe('tenant=acme');
    expect(seen.tracestate).toBeUndefined();
  });
});

describe('the stored context TracedQueue writes', () => {
  let queue: Queue;

  beforeAll(() => {
    queue = new Queue(uniqueQueueName('writes'), { connection: redisConnection() });
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
  });

  const metadataOf = async (job: Job) => (await queue.getJob(job.id!))!.opts.telemetry?.metadata;

  it('is, for a plain W3C context, exactly the JSON of the carrier, byte for byte', async () => {
    const job = await trace.getTracer('test').startActiveSpan('request', async (span) => {
      const added = await new TracedQueue(queue).add('job', {});
      span.end();
      return added;
    });
    const [send] = spansNamed(exporter.getFinishedSpans(), `send ${queue.name}`);
    const { traceId, spanId } = send.spanContext();
    expect(await metadataOf(job)).toBe(JSON.stringify({ traceparent: `00-${traceId}-${spanId}-01` }));
  });

  it('is the JSON of whatever else the propagator writes, tracestate and baggage included', async () => {
    const explicit = TracingContext.fromCarrier({ traceparent: TRACEPARENT, tracestate: 'rojo=1' });
    const withBaggage = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ tenant: { value: 'a "quoted" value' } }));
    const job = await context.with(withBaggage, () =>
      new TracedQueue(queue, { producerSpan: false }).add('job', {}, { tracingContext: explicit }),
    );
    const metadata = (await metadataOf(job))!;
    expect(JSON.parse(metadata)).toEqual({
      traceparent: TRACEPARENT,
      tracestate: 'rojo=1',
      baggage: `tenant=${encodeURIComponent('a "quoted" value')}`,
    });
    expect(metadata).toBe(JSON.stringify(JSON.parse(metadata)));
  });
});
