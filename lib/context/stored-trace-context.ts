import { type Context, isSpanContextValid, propagation, ROOT_CONTEXT, type SpanContext, trace } from '@opentelemetry/api';
import type { Job, JobsOptions } from 'bullmq';
import { MAX_STORED_CONTEXT_LENGTH, PROPAGATION_STYLE_KEY } from '../job-tracing.constants.js';
import { type TraceCarrier, TracingContext, validatedTracingContext } from './tracing-context.js';
import { ValidatedTraceState } from './validated-trace-state.js';
import { isTraceparentV00, readTraceparentV00, TRACEPARENT_V00_LENGTH } from './w3c-trace-context.js';

/**
 * The trace context a job carries in BullMQ's own telemetry slot,
 * `opts.telemetry.metadata`: JSON of the propagator's carrier, the format
 * BullMQ's built-in telemetry (bullmq-otel) writes and reads too.
 */
export type StoredContextResult =
  | { context: TracingContext; parent: Context }
  | { problem: string; absent?: true };

const W3C_HEADERS = new Set(['traceparent', 'tracestate']);

// What TracedQueue and bullmq-otel store almost always: `{"traceparent":"00-…"}` and nothing else.
const PLAIN_PREFIX = '{"traceparent":"';
const PLAIN_SUFFIX = '"}';
const PLAIN_LENGTH = PLAIN_PREFIX.length + TRACEPARENT_V00_LENGTH + PLAIN_SUFFIX.length;

/** Never throws: whatever a job holds, the answer is a context or the reason there is none. */
export function readStoredContext(job: Job): StoredContextResult {
  const metadata: unknown = job.opts?.telemetry?.metadata;
  if (metadata === undefined) return { problem: 'no trace context is stored on the job', absent: true };
  if (typeof metadata !== 'string') return { problem: `telemetry metadata is a ${typeof metadata}, not a string` };
  if (metadata === '') return { problem: 'telemetry metadata is empty' };
  if (metadata.length > MAX_STORED_CONTEXT_LENGTH) {
    return { problem: `telemetry metadata is ${metadata.length} characters, over the ${MAX_STORED_CONTEXT_LENGTH} limit` };
  }
  return readPlainTraceparent(metadata) ?? readCarrier(metadata);
}

/** The common shape, validated in place; undefined for anything else, which readCarrier then reads. */
function readPlainTraceparent(metadata: string): StoredContextResult | undefined {
  if (
    metadata.length !== PLAIN_LENGTH ||
    !metadata.startsWith(PLAIN_PREFIX) ||
    !metadata.endsWith(PLAIN_SUFFIX) ||
    !isTraceparentV00(metadata, PLAIN_PREFIX.length)
  ) {
    return undefined;
  }
  const parsed = readTraceparentV00(metadata, PLAIN_PREFIX.length);
  const stored = validatedTracingContext(parsed);
  return { context: stored, parent: trace.setSpanContext(ROOT_CONTEXT, remoteParentOf(stored)) };
}

function readCarrier(metadata: string): StoredContextResult {
  let carrier: unknown;
  try {
    carrier = JSON.parse(metadata);
  } catch {
    return { problem: 'telemetry metadata is not JSON' };
  }
  if (typeof carrier !== 'object' || carrier === null || Array.isArray(carrier)) {
    return { problem: 'telemetry metadata is not a JSON object' };
  }
  const headers = carrier as Record<string, unknown>;
  for (const key of Object.keys(headers)) {
    // The propagation style is not a header: propagation-style.ts reads and judges it.
    if (typeof headers[key] !== 'string' && key !== PROPAGATION_STYLE_KEY) return { problem: `telemetry metadata field "${key}" is not a string` };
  }
  try {
    const stored = TracingContext.fromCarrier(headers as TraceCarrier);
    return { context: stored, parent: toParentContext(stored, headers as TraceCarrier) };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

function toParentContext(stored: TracingContext, carrier: TraceCarrier): Context {
  // Other headers (baggage) need the application's propagator; the W3C ones are read already, and not parsed again.
  const others = Object.entries(carrier).filter(([key]) => !W3C_HEADERS.has(key) && key !== PROPAGATION_STYLE_KEY);
  const base = others.length ? propagation.extract(ROOT_CONTEXT, Object.fromEntries(others)) : ROOT_CONTEXT;
  return trace.setSpanContext(base, remoteParentOf(stored));
}

/** `stored.toSpanContext()`, but its trace state, validated while reading, is not parsed again. */
function remoteParentOf(stored: TracingContext): SpanContext {
  return {
    traceId: stored.traceId!,
    spanId: stored.spanId!,
    traceFlags: stored.traceFlags,
    traceState: stored.traceState ? new ValidatedTraceState(stored.traceState) : undefined,
    isRemote: true,
  };
}

/** JSON of the carrier for `ctx`: through the global propagator, or plain W3C if that writes nothing. */
export function serializeContext(ctx: Context): string | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  if (carrier.traceparent === undefined) {
    const spanContext = trace.getSpanContext(ctx);
    if (!spanContext || !isSpanContextValid(spanContext)) {
      return Object.keys(carrier).length ? JSON.stringify(carrier) : undefined;
    }
    Object.assign(carrier, TracingContext.fromSpanContext(spanContext).toCarrier());
  }
  // Not validated here: the propagator just wrote it, and the worker validates what it reads. Checking a
  // freshly built traceparent character by character cost more than JSON.stringify itself.
  return JSON.stringify(carrier);
}

/**
 * Whether the caller set the job's `metadata` already or asked BullMQ to omit it, on the job or in the
 * queue's `defaultJobOptions` (BullMQ merges them shallowly: the job's `telemetry` wins whole).
 */
export function keepsOwnTelemetry(options: Pick<JobsOptions, 'telemetry'> | undefined, queueDefaults?: JobsOptions): boolean {
  const telemetry = options?.telemetry ?? queueDefaults?.telemetry;
  return telemetry?.metadata !== undefined || Boolean(telemetry?.omitContext);
}

/** The job options with `metadata` set, unless the caller keeps its own telemetry (`keepsOwnTelemetry`). */
export function withStoredContext(
  options: JobsOptions | undefined,
  metadata: string | undefined,
  queueDefaults?: JobsOptions,
): JobsOptions {
  if (metadata === undefined || keepsOwnTelemetry(options, queueDefaults)) return options ?? {};
  return { ...options, telemetry: { ...(options?.telemetry ?? queueDefaults?.telemetry), metadata } };
}
