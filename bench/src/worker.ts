// One mode, one round: add N trivial jobs, then process them with concurrency C,
// inside a Nest application as a user would run it. Prints a RoundResult as JSON.
import { BullModule, getQueueToken, Processor, WorkerHost } from '@nestjs/bullmq';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Queue } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { ContextualTaskSpan, JobTracingModule, TraceTask, TracedQueue } from 'nestjs-job-tracing';
import { parseArgs } from 'node:util';
import { CountingExporter } from './counting-exporter.js';
import { type Mode, MODE_TRAITS, type ModeTraits, type RoundResult } from './modes.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    jobs: { type: 'string' },
    concurrency: { type: 'string' },
    prefix: { type: 'string' },
    redis: { type: 'string' },
    'rss-samples': { type: 'string', default: '0' },
    warmup: { type: 'string', default: '0' },
  },
});
const mode = values.mode as Mode;
const traits: ModeTraits = MODE_TRAITS[mode];
const jobs = Number(values.jobs);
const warmupJobs = Number(values.warmup);
const concurrency = Number(values.concurrency);
const queueName = 'bench';
const redis = new URL(values.redis!);
const connection = { host: redis.hostname, port: Number(redis.port || 6379) };

const exporter = new CountingExporter();
const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
if (traits.sdk) {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}
const meterProvider = traits.meterProvider ? await countingMeterProvider() : undefined;
if (meterProvider) metrics.setGlobalMeterProvider(meterProvider);

const handle = async (): Promise<string> => 'done';
const floorTracer = trace.getTracer('bench-floor');

@Processor(queueName, { concurrency, autorun: false })
class TrivialProcessor extends WorkerHost {
  async process(): Promise<string> {
    if (!traits.handWrittenSpan) return handle();
    // The floor: one span around the handler, made active for it, and nothing else.
    const span = floorTracer.startSpan('task');
    try {
      return await context.with(trace.setSpan(context.active(), span), handle);
    } finally {
      span.end();
    }
  }
}
if (traits.jobTracing === 'contextual') TraceTask(new ContextualTaskSpan())(TrivialProcessor);

const telemetry = traits.bullmqOtel ? new BullMQOtel({ tracerName: 'bench', version: '1' }) : undefined;
const imports: DynamicModule[] = [
  BullModule.forRoot({ connection, prefix: values.prefix }),
  BullModule.registerQueue({ name: queueName, telemetry }),
];
if (traits.jobTracing) imports.push(JobTracingModule.forRoot());

class BenchModule {}
const app = await NestFactory.createApplicationContext(
  { module: BenchModule, imports, providers: [TrivialProcessor] },
  { logger: ['error'] },
);
const queue = app.get<Queue>(getQueueToken(queueName));
const producer = traits.tracedQueue ? new TracedQueue(queue) : queue;
const jobOptions =
  traits.constantStoredContext
    ? { telemetry: { metadata: JSON.stringify({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }) } }
    : undefined;
await queue.waitUntilReady();

// The same requests in every mode: single adds, C at a time, each inside no particular span.
async function enqueue(count: number): Promise<void> {
  for (let added = 0; added < count; added += concurrency) {
    const batch = Math.min(concurrency, count - added);
    await Promise.all(Array.from({ length: batch }, (_, index) => producer.add('job', { n: added + index }, jobOptions)));
  }
}
const worker = app.get(TrivialProcessor).worker;
let completed = 0;
let exportedBefore = 0;
if (warmupJobs > 0) {
  // Steady state: the same workload once, unmeasured, so that start-up work
  // (lazy compilation, JIT tiers, first-use caches) is not charged to the jobs.
  await enqueue(warmupJobs);
  const warmedUp = new Promise<void>((resolve) => {
    const onCompleted = () => {
      if (++completed === warmupJobs) {
        worker.off('completed', onCompleted);
        resolve();
      }
    };
    worker.on('completed', onCompleted);
  });
  void worker.run();
  await warmedUp;
  await worker.pause();
  completed = 0;
  await provider.forceFlush();
  exportedBefore = exporter.count;
}

const cpuBefore = process.cpuUsage();
const enqueueStart = performance.now();
await enqueue(jobs);
const enqueueSeconds = (performance.now() - enqueueStart) / 1000;
const enqueueCpu = process.cpuUsage(cpuBefore);

const processStart = performance.now();
// Memory at evenly spaced points of the processing, to see whether it grows with the jobs:
// RSS as the OS sees it, and the live heap after a full GC (with --expose-gc) to tell growth from garbage.
const rssSamples = Number(values['rss-samples']);
const rssEvery = rssSamples > 0 ? Math.ceil(jobs / rssSamples) : 0;
const memorySamples: Array<{ rssMb: number; heapAfterGcMb?: number }> = [];
const collectGarbage = (globalThis as { gc?: () => void }).gc;
// 'completed' fires once BullMQ has stored the result, so this counts finished jobs.
const allCompleted = new Promise<void>((resolve) =>
  worker.on('completed', () => {
    completed++;
    if (rssEvery && completed % rssEvery === 0) {
      const rssMb = process.memoryUsage().rss / 2 ** 20;
      collectGarbage?.();
      memorySamples.push({ rssMb, heapAfterGcMb: collectGarbage && process.memoryUsage().heapUsed / 2 ** 20 });
    }
    if (completed === jobs) resolve();
  }),
);
if (warmupJobs > 0) void worker.resume();
else void worker.run();
await allCompleted;
const processSeconds = (performance.now() - processStart) / 1000;
const cpu = process.cpuUsage(cpuBefore);
await provider.forceFlush();

const result: RoundResult = {
  mode,
  jobs,
  enqueuePerSecond: jobs / enqueueSeconds,
  enqueueCpuMicrosPerJob: (enqueueCpu.user + enqueueCpu.system) / jobs,
  processPerSecond: jobs / processSeconds,
  cpuMicrosPerJob: (cpu.user + cpu.system) / jobs,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  spansPerJob: (exporter.count - exportedBefore) / jobs,
  ...(rssSamples > 0 && { memorySamples }),
};
await app.close();
await meterProvider?.shutdown();
process.stdout.write(JSON.stringify(result));

/** An SDK MeterProvider whose reader collects every second and sends nothing, as an app with metrics would run. */
async function countingMeterProvider() {
  const { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  const metricExporter = {
    exported: 0,
    export(_metrics: unknown, done: (result: { code: number }) => void) {
      this.exported++;
      done({ code: 0 });
    },
    selectAggregationTemporality: () => AggregationTemporality.DELTA,
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  return new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })],
  });
}
