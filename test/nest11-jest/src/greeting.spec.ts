// A Nest 11 application's own unit test, in the Jest set-up `nest new` generates
// (ts-jest, CommonJS): it must load nestjs-job-tracing with no change to that set-up.
import { BullModule } from '@nestjs/bullmq';
import { Test, TestingModule } from '@nestjs/testing';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Job, QueueEvents } from 'bullmq';
import { randomUUID } from 'crypto';
import { JobTracingModule, TracedQueue, getTracedQueueToken } from 'nestjs-job-tracing';
import { GREETINGS, GreetingProcessor } from './greeting.processor';
import { GreetingService } from './greeting.service';

const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const connection = { host: url.hostname, port: Number(url.port || 6379) };
// A prefix of its own, so that nothing of another run is picked up.
const prefix = `nest11-jest-${randomUUID().slice(0, 8)}`;

async function finishedSpans(exporter: InMemorySpanExporter, done: (spans: ReadableSpan[]) => boolean) {
  const deadline = Date.now() + 10_000;
  while (!done(exporter.getFinishedSpans()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return exporter.getFinishedSpans();
}

describe('GreetingProcessor', () => {
  // The 2.x SDK (the one for @opentelemetry/api 1.9): its span processor takes the exporter itself.
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let moduleRef: TestingModule;
  let events: QueueEvents;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    moduleRef = await Test.createTestingModule({
      imports: [
        BullModule.forRoot({ connection, prefix }),
        BullModule.registerQueue({ name: GREETINGS }),
        JobTracingModule.forRoot(),
        JobTracingModule.forFeature(GREETINGS),
      ],
      providers: [GreetingProcessor, GreetingService],
    }).compile();
    await moduleRef.init();
    events = new QueueEvents(GREETINGS, { connection, prefix });
    await events.waitUntilReady();
  });

  afterAll(async () => {
    await events?.close();
    await moduleRef?.get<TracedQueue>(getTracedQueueToken(GREETINGS)).queue.obliterate({ force: true });
    await moduleRef?.close();
    await provider.shutdown();
  });

  it('processes a job in a task span that continues the trace of the request that enqueued it', async () => {
    const tracer = trace.getTracer('nest11-app');
    const job: Job = await tracer.startActiveSpan('request', async (request) => {
      try {
        return await moduleRef.get(GreetingService).greet('Nest 11');
      } finally {
        request.end();
      }
    });

    expect(await job.waitUntilFinished(events, 20_000)).toBe('Hello, Nest 11');

    const spans = await finishedSpans(exporter, (all) => all.some((span) => span.name === 'task'));
    const request = spans.find((span) => span.name === 'request')!;
    const send = spans.find((span) => span.name === `send ${GREETINGS}`)!;
    const task = spans.find((span) => span.name === 'task')!;
    expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(task.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(task.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(task.attributes).toMatchObject({ task_id: job.id, attempt: 1 });
  });
});
