import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Job } from 'bullmq';
import {
  ContextualTaskSpan,
  InjectTracedQueue,
  JobTracingModule,
  type MakeSpan,
  SkipTaskTracing,
  SpanLevel,
  type TaskSpan,
  TraceTask,
  TracedQueue,
} from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, serverAttributes, uniqueQueueName } from './support/queues.js';
import { inRequest, parentSpanId, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

function addInRequest(queue: TracedQueue, data: unknown, opts = {}): Promise<Job> {
  return inRequest(() => queue.add('job', data, opts));
}

function only(spans: ReadableSpan[], name: string, queueName?: string): ReadableSpan {
  const matching = spansNamed(spans, name, queueName);
  expect(matching).toHaveLength(1);
  return matching[0];
}

describe('DefaultTaskSpan', () => {
  it('makes a new root span named task with task_id, attempt and messaging attributes', async () => {
    const queueName = uniqueQueueName('default');

    @Processor(queueName)
    class DefaultProcessor extends WorkerHost {
      async process(job: Job) {
        return { doubled: job.data.n * 2, activeTraceId: trace.getActiveSpan()?.spanContext().traceId };
      }
    }

    state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [DefaultProcessor] });
    const job = await addInRequest(new TracedQueue(queueOf(state.app, queueName)), { n: 21 });
    const result = await finished(job);

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const task = only(spans, 'task', queueName);
    expect(task.kind).toBe(SpanKind.CONSUMER);
    expect(task.parentSpanContext).toBeUndefined();
    expect(task.spanContext().traceId).not.toBe(only(spans, 'request').spanContext().traceId);
    expect(task.attributes).toEqual({
      task_id: job.id,
      attempt: 1,
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': queueName,
      'messaging.message.id': job.id,
      ...serverAttributes(),
      'messaging.bullmq.job.wait_ms': expect.any(Number),
    });
    expect(task.status.code).toBe(SpanStatusCode.UNSET);
    // task.start and task.done are DEBUG events: the default INFO filter leaves them out (test/task-hooks.spec.ts).
    expect(task.events).toEqual([]);
    // The handler ran inside the span, and its result passed through unchanged.
    expect(result).toEqual({ doubled: 42, activeTraceId: task.spanContext().traceId });
  });
  it('passes (job, token, signal) through, and gives a signal only to processors that take one', async () => {
    const withSignal = uniqueQueueName('signal');
    const withoutSignal = uniqueQueueName('no-signal');

    @Processor(withSignal)
    class SignalProcessor extends WorkerHost {
      async process(job: Job, token?: string, signal?: AbortSignal) {
        return { id: job.id, token: typeof token, signal: signal instanceof AbortSignal };
      }
    }

    @Processor(withoutSignal)
    class JobOnlyProcessor extends WorkerHost {
      async process(_job: Job) {
        // BullMQ always passes three arguments; the third is a signal only if asked for.
        return arguments[2] !== undefined;
      }
    }

    state.app = await startApp({
      imports: [BullModule.registerQueue({ name: withSignal }, { name: withoutSignal })],
      providers: [SignalProcessor, JobOnlyProcessor],
    });
    const job = await queueOf(state.app, withSignal).add('job', {});
    expect(await finished(job)).toEqual({ id: job.id, token: 'string', signal: true });
    expect(await finished(await queueOf(state.app, withoutSignal).add('job', {}))).toBe(false);
  });
});

describe('ContextualTaskSpan', () => {
  it('continues the stored trace under the producer span and adds the W3C fields', async () => {
    const queueName = uniqueQueueName('contextual');

    @Processor(queueName)
    @TraceTask(new ContextualTaskSpan())
    class ContextualProcessor extends WorkerHost {
      async process() {}
    }

    state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [ContextualProcessor] });
    const job = await addInRequest(new TracedQueue(queueOf(state.app, queueName)), {});

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const request = only(spans, 'request');
    const send = only(spans, `send ${queueName}`);
    const task = only(spans, 'task', queueName);
    const traceId = request.spanContext().traceId;
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.spanContext().traceId).toBe(traceId);
    expect(parentSpanId(send)).toBe(request.spanContext().spanId);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': queueName,
      'messaging.message.id': job.id,
    });
    expect(task.spanContext().traceId).toBe(traceId);
    expect(parentSpanId(task)).toBe(send.spanContext().spanId);
    expect(task.attributes).toMatchObject({
      task_id: job.id,
      attempt: 1,
      trace_id: traceId,
      span_id: send.spanContext().spanId,
      trace_flags: '01',
    });
  });

  it('records a failed attempt as ERROR and the retry as attempt 2', async () => {
    const queueName = uniqueQueueName('retry');

    @Processor(queueName)
    class FlakyProcessor extends WorkerHost {
      @TraceTask(new ContextualTaskSpan())
      async process(job: Job) {
        if (job.attemptsMade === 0) throw new TypeError('dns not configured yet');
        return 'delivered';
      }
    }

    state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [FlakyProcessor] });
    const job = await addInRequest(new TracedQueue(queueOf(state.app, queueName)), {}, { attempts: 2 });
    expect(await finished(job)).toBe('delivered');

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 2);
    const send = only(spans, `send ${queueName}`);
    const [first, second] = spansNamed(spans, 'task', queueName).sort(
      (a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt),
    );
    expect(first.attributes.attempt).toBe(1);
    expect(first.status).toEqual({ code: SpanStatusCode.ERROR, message: 'dns not configured yet' });
    expect(first.attributes['error.type']).toBe('TypeError');
    const exception = first.events.find((event) => event.name === 'exception');
    expect(exception?.attributes).toMatchObject({
      'exception.type': 'TypeError',
      'exception.message': 'dns not configured yet',
    });
    const failed = first.events.find((event) => event.name === 'task.failed');
    expect(failed?.attributes?.latency_ms).toEqual(expect.any(Number));
    expect(second.attributes.attempt).toBe(2);
    expect(second.status.code).toBe(SpanStatusCode.UNSET);
    // Both attempts continue the producer's trace.
    for (const attempt of [first, second]) expect(parentSpanId(attempt)).toBe(send.spanContext().spanId);
  });
});

describe('custom MakeSpan and the level filter', () => {
  class DetailedTaskSpan implements MakeSpan {
    makeSpan(job: Job): TaskSpan {
      return {
        name: `process ${job.queueName}`,
        level: SpanLevel.DEBUG,
        kind: SpanKind.INTERNAL,
        fields: { queue: job.queueName, payload_size: JSON.stringify(job.data).length },
      };
    }
  }

  it('shapes the span when the filter lets DEBUG through for that queue', async () => {
    const queueName = uniqueQueueName('detailed');

    @Processor(queueName)
    @TraceTask(new DetailedTaskSpan())
    class DetailedProcessor extends WorkerHost {
      async process() {}
    }

    state.app = await startApp({
      tracing: { level: `warn,${queueName}=debug` },
      imports: [BullModule.registerQueue({ name: queueName })],
      providers: [DetailedProcessor],
    });
    const job = await queueOf(state.app, queueName).add('job', { to: 'a@example.com' });

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, `process ${queueName}`).length === 1);
    const task = only(spans, `process ${queueName}`);
    expect(task.kind).toBe(SpanKind.INTERNAL);
    expect(task.attributes).toMatchObject({ task_id: job.id, attempt: 1, queue: queueName, payload_size: 22 });
  });

  it('drops a DEBUG span at INFO while its context still flows to a child enqueue', async () => {
    const parentQueue = uniqueQueueName('quiet');
    const childQueue = uniqueQueueName('child');

    @Processor(parentQueue)
    @TraceTask(new ContextualTaskSpan({ level: SpanLevel.DEBUG }))
    class QuietProcessor extends WorkerHost {
      constructor(@InjectTracedQueue(childQueue) private readonly children: TracedQueue) {
        super();
      }
      async process() {
        await this.children.add('follow-up', {});
      }
    }

    @Processor(childQueue)
    @TraceTask(new ContextualTaskSpan())
    class ChildProcessor extends WorkerHost {
      async process() {}
    }

    state.app = await startApp({
      imports: [
        BullModule.registerQueue({ name: parentQueue }, { name: childQueue }),
        JobTracingModule.forFeature(childQueue),
      ],
      providers: [QuietProcessor, ChildProcessor],
    });
    await addInRequest(new TracedQueue(queueOf(state.app, parentQueue)), {});

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', childQueue).length === 1);
    expect(spansNamed(spans, 'task', parentQueue)).toHaveLength(0);
    const request = only(spans, 'request');
    const sendParent = only(spans, `send ${parentQueue}`);
    const sendChild = only(spans, `send ${childQueue}`);
    const childTask = only(spans, 'task', childQueue);
    for (const span of [sendParent, sendChild, childTask]) {
      expect(span.spanContext().traceId).toBe(request.spanContext().traceId);
    }
    // The unrecorded task span is skipped: the child's producer hangs under the parent's producer.
    expect(parentSpanId(sendChild)).toBe(sendParent.spanContext().spanId);
    expect(parentSpanId(childTask)).toBe(sendChild.spanContext().spanId);
  });

  it('takes the filter from JOB_TRACING_LEVEL over the options', async () => {
    const queueName = uniqueQueueName('env');

    @Processor(queueName)
    class SilencedProcessor extends WorkerHost {
      async process() {
        return 'ran';
      }
    }

    // Read when the module is built, so it only needs to be set during startup.
    process.env.JOB_TRACING_LEVEL = 'off';
    try {
      state.app = await startApp({
        tracing: { level: 'trace' },
        imports: [BullModule.registerQueue({ name: queueName })],
        providers: [SilencedProcessor],
      });
    } finally {
      delete process.env.JOB_TRACING_LEVEL;
    }
    const job = await queueOf(state.app, queueName).add('job', {});
    expect(await finished(job)).toBe('ran');
    expect(spansNamed(state.exporter.getFinishedSpans(), 'task', queueName)).toHaveLength(0);
  });
});

describe('per-processor choices', () => {
  it('leaves a processor marked @SkipTaskTracing untraced and traces its neighbour', async () => {
    const skipped = uniqueQueueName('skipped');
    const traced = uniqueQueueName('traced');

    @Processor(skipped)
    @SkipTaskTracing()
    class SkippedProcessor extends WorkerHost {
      async process() {
        return trace.getActiveSpan() === undefined;
      }
    }

    @Processor(traced)
    class TracedProcessor extends WorkerHost {
      async process() {}
    }

    state.app = await startApp({
      imports: [BullModule.registerQueue({ name: skipped }, { name: traced })],
      providers: [SkippedProcessor, TracedProcessor],
    });
    const skippedJob = await queueOf(state.app, skipped).add('job', {});
    await queueOf(state.app, traced).add('job', {});
    expect(await finished(skippedJob)).toBe(true);
    await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', traced).length === 1);
    expect(spansNamed(state.exporter.getFinishedSpans(), 'task', skipped)).toHaveLength(0);
  });

  it('runs custom hooks, and a throwing hook does not break the job', async () => {
    const queueName = uniqueQueueName('hooks');
    const seen: string[] = [];

    @Processor(queueName)
    class HookedProcessor extends WorkerHost {
      async process() {
        return 'ok';
      }
    }

    state.app = await startApp({
      tracing: {
        onStart: (job, span) => {
          seen.push(`start ${job.id}`);
          span.setAttribute('custom.started', true);
        },
        onSuccess: () => {
          throw new Error('hook bug');
        },
      },
      imports: [BullModule.registerQueue({ name: queueName })],
      providers: [HookedProcessor],
    });
    const job = await queueOf(state.app, queueName).add('job', {});
    expect(await finished(job)).toBe('ok');
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const task = only(spans, 'task', queueName);
    expect(seen).toEqual([`start ${job.id}`]);
    expect(task.attributes['custom.started']).toBe(true);
    // onStart replaced its default; onFailure kept its default but did not run.
    expect(task.events.map((event) => event.name)).toEqual([]);
  });
});
