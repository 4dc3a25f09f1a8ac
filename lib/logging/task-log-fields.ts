import { type AttributeValue, type Context, context, isSpanContextValid, trace } from '@opentelemetry/api';
import { formatTraceFlags } from '../context/w3c-trace-context.js';
import { getTaskScope } from '../tracing/task-scope.js';

/** The fields a log line carries inside a job: `task_id`, `attempt`, the strategy's fields and the trace ids. */
export type TaskLogFields = Record<string, AttributeValue>;

/**
 * Trace fields that always name the span active when the line is written,
 * the one a log-to-trace jump must land on. A strategy's own value under one
 * of these names (ContextualTaskSpan stores the producer's) is kept as
 * `upstream_<name>` when it differs.
 */
const TRACE_FIELDS = ['trace_id', 'span_id', 'trace_flags', 'trace_state'] as const;
const UPSTREAM_PREFIX = 'upstream_';

/** The task's span name and log fields in `ctx`, or undefined outside a job. */
export function taskLogFieldsOf(ctx: Context): { spanName: string; fields: TaskLogFields } | undefined {
  const scope = getTaskScope(ctx);
  if (!scope) return undefined;
  const fields: TaskLogFields = {};
  for (const [key, value] of Object.entries(scope.fields)) {
    // The messaging.* attributes are for backends; the line keeps the task's own fields.
    if (value !== undefined && !key.includes('.') && !isTraceField(key)) fields[key] = value;
  }
  const active = activeTraceFields(ctx);
  Object.assign(fields, active);
  for (const key of TRACE_FIELDS) {
    const upstream = scope.fields[key];
    if (upstream !== undefined && upstream !== active[key]) fields[`${UPSTREAM_PREFIX}${key}`] = upstream;
  }
  return { spanName: scope.spanName, fields };
}

/**
 * The active task's log fields, `{}` outside a job. For other loggers:
 * nestjs-pino's `mixin: () => currentTaskFields()`, or a winston format
 * that merges them into each record.
 */
export function currentTaskFields(): TaskLogFields {
  return taskLogFieldsOf(context.active())?.fields ?? {};
}

function activeTraceFields(ctx: Context): Partial<Record<(typeof TRACE_FIELDS)[number], string>> {
  const spanContext = trace.getSpanContext(ctx);
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  const traceState = spanContext.traceState?.serialize();
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: formatTraceFlags(spanContext.traceFlags),
    ...(traceState && { trace_state: traceState }),
  };
}

function isTraceField(key: string): key is (typeof TRACE_FIELDS)[number] {
  return (TRACE_FIELDS as readonly string[]).includes(key);
}
