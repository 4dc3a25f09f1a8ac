import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { type AttributeValue, context, isSpanContextValid, trace } from '@opentelemetry/api';
import { inspect } from 'node:util';
import { getTaskScope, type TaskScope } from '../tracing/task-scope.js';

/** Nest's levels named as `tracing` names them. */
const LEVEL_NAMES: Record<LogLevel, string> = {
  fatal: 'ERROR',
  error: 'ERROR',
  warn: 'WARN',
  log: 'INFO',
  debug: 'DEBUG',
  verbose: 'TRACE',
};

/**
 * A Nest logger that, inside a job, writes lines in the shape `tracing` gives
 * them, `INFO task{task_id=42 attempt=1 trace_id=…}: EmailProcessor: message`,
 * and records each line as an event on the job's span. Outside a job it is
 * Nest's ConsoleLogger. It prints only the task's span fields, never job data.
 *
 * Install it with `app.useLogger(new TaskLogger())`.
 */
export class TaskLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    logContext = '',
    logLevel: LogLevel = 'log',
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    const scope = getTaskScope(context.active());
    if (!scope || this.options.json) {
      super.printMessages(messages, logContext, logLevel, writeStreamType, errorStack, params);
      return;
    }
    const level = LEVEL_NAMES[logLevel];
    const prefix = `${level.padStart(5)} ${scope.spanName}{${formatFields(scope)}}: ${logContext ? `${logContext}: ` : ''}`;
    const stream = writeStreamType === 'stderr' ? process.stderr : process.stdout;
    const span = trace.getActiveSpan();
    for (const message of messages) {
      // As ConsoleLogger does, lazy messages are resolved and the `redact` option applies.
      const resolved = resolveAndRedact(this, message);
      // One event, one line: objects are inspected without line breaks.
      const text = typeof resolved === 'string' ? resolved : inspect(resolved, { breakLength: Infinity });
      stream.write(`${new Date().toISOString()} ${this.colorize(prefix, logLevel)}${text}\n`);
      span?.addEvent(text, { level, ...(logContext && { target: logContext }) });
    }
  }
}

type MessageSteps = Partial<Record<'resolveMessage' | 'redact', (value: unknown) => unknown>>;

// ConsoleLogger has resolveMessage() and redact() only from @nestjs/common 12.5: older ones get the same lazy-message rule.
function resolveAndRedact(logger: ConsoleLogger, message: unknown): unknown {
  const { resolveMessage, redact } = logger as unknown as MessageSteps;
  const resolved = resolveMessage ? resolveMessage.call(logger, message) : resolveLazyMessage(message);
  return redact ? redact.call(logger, resolved) : resolved;
}

function resolveLazyMessage(message: unknown): unknown {
  if (typeof message !== 'function') return message;
  return Function.prototype.toString.call(message).startsWith('class ') ? message.name : resolveLazyMessage(message());
}

// The messaging.* attributes are for backends; the line keeps the task's own fields.
function formatFields(scope: TaskScope): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(scope.fields)) {
    if (value !== undefined && !key.includes('.')) parts.push(`${key}=${formatValue(value)}`);
  }
  if (!('trace_id' in scope.fields)) {
    const spanContext = trace.getSpanContext(context.active());
    if (spanContext && isSpanContextValid(spanContext)) parts.push(`trace_id=${spanContext.traceId}`);
  }
  return parts.join(' ');
}

function formatValue(value: AttributeValue): string {
  return Array.isArray(value) ? `[${value.join(',')}]` : String(value);
}
