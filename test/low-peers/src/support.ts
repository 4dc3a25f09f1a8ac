import { type INestApplicationContext, Module, type ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { TaskLogger } from 'nestjs-job-tracing';

/** The 2.x SDK, whose span processor takes the exporter itself. */
export function setupTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return exporter;
}

export function redisConnection(): { host: string; port: number } {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  return { host: url.hostname, port: Number(url.port || 6379) };
}

const createdQueueNames = new Set<string>();

/** A fresh queue name, with run.mjs's run id in it so that run checks nothing of it is left; deleteQueues() removes it. */
export function uniqueQueueName(prefix: string): string {
  const name = ['low-peers', prefix, process.env.JOB_TRACING_TEST_RUN, randomUUID().slice(0, 8)].filter(Boolean).join('-');
  createdQueueNames.add(name);
  return name;
}

/** Deletes every key of the queues this suite named, through BullMQ's own obliterate. */
export async function deleteQueues(): Promise<void> {
  for (const name of createdQueueNames) {
    const queue = new Queue(name, { connection: redisConnection() });
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
  }
  createdQueueNames.clear();
}

/** An application context around `metadata`, logging through TaskLogger as a user would install it. */
export async function startApp(metadata: ModuleMetadata): Promise<INestApplicationContext> {
  @Module(metadata)
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, {
    logger: new TaskLogger(),
    abortOnError: false,
  });
  return app.init();
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits for the job's final state in Redis. */
export async function finalState(queueName: string, jobId: string): Promise<string> {
  const queue = new Queue(queueName, { connection: redisConnection() });
  try {
    return await waitFor(`job ${jobId} of ${queueName} to finish`, async () => {
      const state = await queue.getJobState(jobId);
      return state === 'completed' || state === 'failed' ? state : undefined;
    });
  } finally {
    await queue.close();
  }
}

export function taskSpans(exporter: InMemorySpanExporter, queueName: string): ReadableSpan[] {
  return exporter
    .getFinishedSpans()
    .filter((span) => span.attributes['messaging.destination.name'] === queueName && span.attributes.task_id !== undefined);
}

/** Keeps what is written to stdout while `work` runs, still printing it. */
export async function captureStdout<T>(work: () => Promise<T>): Promise<{ result: T; output: string }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    const result = await work();
    return { result, output: chunks.join('') };
  } finally {
    process.stdout.write = write;
  }
}
