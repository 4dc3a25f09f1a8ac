import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/** A real SDK, registered globally as an application would, exporting into memory. */
export function setupTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return exporter;
}

/** Waits until `predicate` holds for the exported spans, or fails with what was exported. */
export async function waitForSpans(
  exporter: InMemorySpanExporter,
  predicate: (spans: ReadableSpan[]) => boolean,
  timeoutMs = 10_000,
): Promise<ReadableSpan[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const spans = exporter.getFinishedSpans();
    if (predicate(spans)) return spans;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for spans; exported: ${spans.map(describeSpan).join(', ') || 'none'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function describeSpan(span: ReadableSpan): string {
  return `${span.name}(${span.attributes['messaging.destination.name'] ?? ''} ${span.attributes.task_id ?? ''})`;
}

export function spansNamed(spans: ReadableSpan[], name: string, queueName?: string): ReadableSpan[] {
  return spans.filter(
    (span) => span.name === name && (queueName === undefined || span.attributes['messaging.destination.name'] === queueName),
  );
}

export function parentSpanId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** Runs `work` inside an active `request` span, as an HTTP handler would. */
export function inRequest<T>(work: () => Promise<T>): Promise<T> {
  return trace.getTracer('test').startActiveSpan('request', async (span) => {
    try {
      return await work();
    } finally {
      span.end();
    }
  });
}
