import type { Context } from '@opentelemetry/api';
import { quietContext } from '../context/quiet-context.js';
import { keepBullmqTelemetrySpans } from './bullmq-telemetry.js';

/**
 * The context BullMQ's add, addBulk, flow and scheduler commands run in: quiet unless `traced`.
 * Their arguments hold the jobs' data, which a Redis instrumentation copies into `db.query.text`.
 * The trace context stored on the jobs is injected from the open context given to the enqueue;
 * bullmq-otel's producer spans are kept (bullmq-telemetry.ts).
 */
export function producerCommandContext(traced: boolean | undefined): (ctx: Context) => Context {
  if (traced) return openCommandContext;
  keepBullmqTelemetrySpans();
  return quietContext;
}

function openCommandContext(ctx: Context): Context {
  return ctx;
}
