import { context } from '@opentelemetry/api';
import { QueueBase } from 'bullmq';
import { contextBeforeQuiet, runQuietly } from '../context/quiet-context.js';

type Trace = (spanKind: unknown, operation: string, destination: string, callback: TracedCallback, srcPropagationMetadata?: string) => unknown;
type TracedCallback = (span?: unknown, dstPropagationMetadata?: string) => unknown;

const PATCHED = Symbol.for('nestjs-job-tracing.bullmq-telemetry-patched');

/**
 * BullMQ's own telemetry (bullmq-otel) makes its spans in `QueueBase.trace`, which it calls inside
 * the regions this library quiets (the worker's loop, the stalled check, the enqueue). There the span
 * is made in the context from before the suppression, so bullmq-otel records it where it always did,
 * and injects a real context into the jobs; the work inside runs quiet again, so its Redis commands
 * make no span. Queues and Workers without telemetry, and code outside those regions, run as before.
 * Extended on the prototype, once per process.
 */
export function keepBullmqTelemetrySpans(): void {
  const prototype = QueueBase.prototype as unknown as { trace: Trace; [PATCHED]?: true };
  if (prototype[PATCHED] || typeof prototype.trace !== 'function') return;
  const original = prototype.trace;
  prototype.trace = function trace(this: { opts?: { telemetry?: unknown } }, spanKind, operation, destination, callback, srcPropagationMetadata) {
    const open = this.opts?.telemetry ? contextBeforeQuiet(context.active()) : undefined;
    if (!open) return original.apply(this, arguments as unknown as Parameters<Trace>);
    // BullMQ injects the new span's context only for a callback that declares its second parameter.
    const quietCallback: TracedCallback =
      callback.length >= 2 ? (span, metadata) => runQuietly(callback, undefined, span, metadata) : (span) => runQuietly(callback, undefined, span);
    return context.with(open, original, this, spanKind, operation, destination, quietCallback, srcPropagationMetadata);
  };
  prototype[PATCHED] = true;
}
