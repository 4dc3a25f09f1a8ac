import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { type AttributeValue, context, trace } from '@opentelemetry/api';
import { inspect } from 'node:util';
import { LIBRARY_LOG_CONTEXT } from '../job-tracing.constants.js';
import { escapeLogText, formatFieldValue, safeString } from './log-text.js';
import { type TaskLogFields, taskLogFieldsOf } from './task-log-fields.js';

/** Nest's levels named as `tracing` names them. */
const LEVEL_NAMES: Record<LogLevel, string> = {
  fatal: 'ERROR',
  error: 'ERROR',
  warn: 'WARN',
  log: 'INFO',
  debug: 'DEBUG',
  verbose: 'TRACE',
};

/** The name of the span event each line is recorded as: the message is an attribute, so names stay few. */
const LOG_EVENT_NAME = 'log';

const ONE_LINE = { breakLength: Infinity, compact: true } as const;

interface TaskLine {
  logLevel: LogLevel;
  logContext: string;
  stream: 'stdout' | 'stderr';
  errorStack?: unknown;
  params?: Record<string, unknown>;
}

/**
 * A Nest logger that, inside a job, writes lines in the shape `tracing` gives
 * them, `INFO task{task_id=42 attempt=1 trace_id=… span_id=…}: EmailProcessor: message`,
 * or with `json: true` one JSON object holding the same fields, and records
 * each line as a `log` event on the active span. Outside a job it is Nest's
 * ConsoleLogger. It prints only the task's span fields, never job data.
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
    const active = context.active();
    const task = taskLogFieldsOf(active);
    if (!task) {
      super.printMessages(messages, logContext, logLevel, writeStreamType, errorStack, params);
      return;
    }
    const line: TaskLine = { logLevel, logContext, stream: writeStreamType ?? 'stdout', errorStack, params };
    const span = trace.getSpan(active);
    for (const message of messages) {
      // A logging helper never fails a job: whatever goes wrong, a plain line is written instead.
      try {
        const text = this.writeTaskLine(task.spanName, task.fields, message, line);
        // The library's own lines repeat the task.* events its hooks already put on the span.
        if (logContext === LIBRARY_LOG_CONTEXT) continue;
        span?.addEvent(LOG_EVENT_NAME, {
          message: text,
          level: LEVEL_NAMES[logLevel],
          ...(logContext && { target: logContext }),
        });
      } catch (error) {
        writeFallbackLine(line, message, error);
      }
    }
  }

  /** Writes one line and returns the message as text, for the span event. */
  private writeTaskLine(spanName: string, fields: TaskLogFields, message: unknown, line: TaskLine): string {
    const resolved = this.redactIfSupported(resolveMessage(message));
    const params = line.params && this.redactIfSupported(line.params);
    const text = typeof resolved === 'string' ? resolved : inspect(resolved, ONE_LINE);
    if (this.options.json) {
      this.write(line.stream, this.jsonLine(fields, resolved, text, line, params));
    } else {
      const target = line.logContext ? `${escapeLogText(line.logContext)}: ` : '';
      const prefix = `${LEVEL_NAMES[line.logLevel].padStart(5)} ${escapeLogText(spanName)}{${formatFields(fields)}}: ${target}`;
      const paramsText = params ? ` ${inspect(params, ONE_LINE)}` : '';
      // One event, one line: a message's own line breaks are escaped, so no text can forge a line.
      this.write(line.stream, `${new Date().toISOString()} ${this.colorize(prefix, line.logLevel)}${escapeLogText(text)}${escapeLogText(paramsText)}`);
    }
    return text;
  }

  // Nest's record (level, pid, timestamp, message, context, stack), then the task's fields, then params.
  private jsonLine(fields: TaskLogFields, resolved: unknown, text: string, line: TaskLine, params?: Record<string, unknown>): string {
    const record: Record<string, unknown> = {
      level: line.logLevel,
      pid: process.pid,
      timestamp: Date.now(),
      message: resolved instanceof Error ? resolved.message : resolved,
    };
    if (line.logContext) record.context = line.logContext;
    if (line.errorStack) record.stack = line.errorStack;
    if (resolved instanceof Error) record.error = { name: resolved.name, message: resolved.message, stack: resolved.stack };
    for (const [key, value] of Object.entries(fields)) if (!(key in record)) record[key] = value;
    if (params) {
      if ((this.options as { flattenParams?: boolean }).flattenParams) {
        for (const [key, value] of Object.entries(params)) if (!(key in record)) record[key] = value;
      } else {
        record.params = params;
      }
    }
    try {
      return JSON.stringify(record, jsonReplacer);
    } catch {
      // A circular or unserializable message is kept as its inspected text.
      return JSON.stringify({ ...record, message: text, ...(params && { params: inspect(params, ONE_LINE) }) }, jsonReplacer);
    }
  }

  // `redact` arrived in @nestjs/common 12.x: older ConsoleLoggers have no redact option to honour.
  private redactIfSupported<T>(value: T): T {
    const redact = (this as unknown as { redact?: (value: T) => T }).redact;
    return typeof redact === 'function' ? redact.call(this, value) : value;
  }

  private write(stream: 'stdout' | 'stderr', text: string): void {
    if ((this.options as { forceConsole?: boolean }).forceConsole) {
      (stream === 'stderr' ? console.error : console.log)(text);
    } else {
      process[stream].write(`${text}\n`);
    }
  }
}

/** As ConsoleLogger does: a class logs its name, any other function is a lazy message. */
function resolveMessage(message: unknown): unknown {
  if (typeof message !== 'function') return message;
  if (Function.prototype.toString.call(message).startsWith('class ')) return message.name;
  return resolveMessage(message());
}

function formatFields(fields: TaskLogFields): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${formatFieldValue(formatValue(value))}`)
    .join(' ');
}

function formatValue(value: AttributeValue): string {
  return Array.isArray(value) ? `[${value.join(',')}]` : String(value);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint' || typeof value === 'symbol') return value.toString();
  if (value instanceof Map || value instanceof Set) return inspect(value, ONE_LINE);
  return value;
}

function inspectSafely(value: unknown): string {
  try {
    return typeof value === 'string' ? value : inspect(value, ONE_LINE);
  } catch {
    return safeString(value);
  }
}

function writeFallbackLine(line: TaskLine, message: unknown, error: unknown): void {
  try {
    const text = typeof message === 'function' ? '[lazy message]' : inspectSafely(message);
    const reason = safeString((error as Error)?.message ?? error);
    const target = line.logContext ? `${line.logContext}: ` : '';
    process[line.stream].write(
      `${new Date().toISOString()} ${LEVEL_NAMES[line.logLevel] ?? 'INFO'} ${escapeLogText(`${target}${text} (TaskLogger could not format this line: ${reason})`)}\n`,
    );
  } catch {
    // Even the plain line failed (a closed stream): the job still must not.
  }
}
