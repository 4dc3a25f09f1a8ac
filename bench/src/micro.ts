// The per-job cost of the library's wrapper without Redis, against a bare span,
// in CPU microseconds per call. Runs in its own process for a clean global state.
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Job } from 'bullmq';
import { ContextualTaskSpan, DefaultTaskSpan, LevelFilter, type MakeSpan } from 'nestjs-job-tracing';
import { CountingExporter } from './counting-exporter.js';
// Internal on purpose: this measures the per-job layer itself, which the package does not export.
import { TaskTracer } from '../../dist/tracing/task-tracer.js';

const ITERATIONS = 200_000;

trace.setGlobalTracerProvider(
  new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: new CountingExporter() })] }),
);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const tracer = trace.getTracer('micro');
const taskTracer = new TaskTracer({ tracer, levelFilter: LevelFilter.parse('info'), logger: console });
const job = {
  id: '42',
  queueName: 'micro',
  attemptsMade: 0,
  data: {},
  opts: { telemetry: { metadata: '{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}' } },
} as unknown as Job;
const handler = async () => 'done';

async function cpuMicrosPerCall(call: () => Promise<unknown> | void): Promise<number> {
  for (let i = 0; i < ITERATIONS / 10; i++) await call(); // warm-up
  const before = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) await call();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / ITERATIONS;
}

const traced = (makeSpan: MakeSpan) => () => taskTracer.run(makeSpan, job, ROOT_CONTEXT, handler);
const results = {
  handlerOnly: await cpuMicrosPerCall(handler),
  bareSpan: await cpuMicrosPerCall(async () => {
    tracer.startSpan('bare').end();
    await handler();
  }),
  contextWrapper: await cpuMicrosPerCall(() => {
    const span = tracer.startSpan('wrapped');
    return context.with(trace.setSpan(ROOT_CONTEXT, span), handler).finally(() => span.end());
  }),
  defaultTaskSpan: await cpuMicrosPerCall(traced(new DefaultTaskSpan())),
  contextualTaskSpan: await cpuMicrosPerCall(traced(new ContextualTaskSpan())),
};
process.stdout.write(JSON.stringify(results));
