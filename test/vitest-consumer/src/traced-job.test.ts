import 'reflect-metadata';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Job } from 'bullmq';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { ContextualTaskSpan, currentTaskFields, getTracedQueueToken, JobTracingModule, type TracedQueue } from 'nestjs-job-tracing';
import { afterAll, beforeAll, expect, it } from 'vitest';

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const queueName = `vitest-${randomUUID().slice(0, 8)}`;
const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const seen: Array<Record<string, unknown>> = [];

@Processor(queueName)
class EmailProcessor extends WorkerHost {
  async process(_job: Job) {
    seen.push(currentTaskFields());
    new Logger(EmailProcessor.name).log('sending');
  }
}

@Module({
  imports: [
    JobTracingModule.forRoot({ makeSpan: new ContextualTaskSpan() }),
    JobTracingModule.forFeature(queueName),
    BullModule.forRoot({ connection: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) } }),
    BullModule.registerQueue({ name: queueName }),
  ],
  providers: [EmailProcessor],
})
class AppModule {}

let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>;
let emails: TracedQueue;

beforeAll(async () => {
  app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  await app.init();
  emails = app.get(getTracedQueueToken(queueName));
});

afterAll(async () => {
  await emails?.obliterate({ force: true });
  await app?.close();
});

it('runs bullmq 6 on ioredis 6 here', () => {
  const fromBullmq = createRequire(createRequire(import.meta.url).resolve('bullmq'));
  expect((fromBullmq('ioredis/package.json') as { version: string }).version).toMatch(/^6\./);
});

it('traces a job under vitest, its task span a child of the request that enqueued it', async () => {
  const { job, requestSpan } = await trace.getTracer('vitest').startActiveSpan('request', async (span) => {
    const added = await emails.add('send', { to: 'someone@example.com' });
    span.end();
    return { job: added, requestSpan: span };
  });
  for (const deadline = Date.now() + 10_000; !exporter.getFinishedSpans().some((span) => span.name === 'task'); ) {
    if (Date.now() > deadline) throw new Error(`no task span: ${exporter.getFinishedSpans().map((span) => span.name).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const spans = exporter.getFinishedSpans();
  const send = spans.find((span) => span.name === `send ${queueName}`)!;
  const task = spans.find((span) => span.name === 'task')!;
  expect(send.parentSpanContext?.spanId).toBe(requestSpan.spanContext().spanId);
  expect(task.spanContext().traceId).toBe(requestSpan.spanContext().traceId);
  expect(task.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
  expect(task.attributes).toMatchObject({ task_id: job.id, attempt: 1 });
  expect(seen).toEqual([expect.objectContaining({ task_id: job.id, attempt: 1, trace_id: requestSpan.spanContext().traceId })]);
  expect(await emails.getJobCounts('completed')).toEqual({ completed: 1 });
});
