// A CommonJS Nest application: TypeScript compiles these imports to require().
import 'reflect-metadata';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ContextualTaskSpan, getTracedQueueToken, JobTracingModule, TracedQueue, TraceTask } from 'nestjs-job-tracing';

const QUEUE = `cjs-consumer-${process.pid}-${Date.now()}`;

@TraceTask(new ContextualTaskSpan())
@Processor(QUEUE)
class GreetingProcessor extends WorkerHost {
  async process(): Promise<string> {
    return 'hello from CommonJS';
  }
}

async function main(): Promise<void> {
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

  const redis = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  @Module({
    imports: [
      JobTracingModule.forRoot(),
      BullModule.forRoot({ connection: { host: redis.hostname, port: Number(redis.port || 6379) } }),
      BullModule.registerQueue({ name: QUEUE }),
      JobTracingModule.forFeature(QUEUE),
    ],
    providers: [GreetingProcessor],
  })
  class AppModule {}

  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const queue = app.get<TracedQueue>(getTracedQueueToken(QUEUE));
  const job = await trace.getTracer('cjs-consumer').startActiveSpan('request', async (span) => {
    try {
      return await queue.add('greet', {});
    } finally {
      span.end();
    }
  });
  const deadline = Date.now() + 20_000;
  const done = async () =>
    (await queue.queue.getJobState(job.id!)) === 'completed' &&
    exporter.getFinishedSpans().some((span) => span.attributes.task_id === job.id);
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('no task span within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const result = (await queue.queue.getJob(job.id!))?.returnvalue;
  await queue.queue.obliterate({ force: true });
  await app.close();
  const spans = exporter.getFinishedSpans().map((span) => ({
    name: span.name,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
  }));
  process.stdout.write(`${JSON.stringify({ moduleSystem: typeof require === 'function' ? 'commonjs' : 'esm', library: require.resolve('nestjs-job-tracing'), result, spans })}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
