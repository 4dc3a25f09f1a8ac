import * as otel from '@opentelemetry/api';
import type { Attributes, Context } from '@opentelemetry/api';
import { DEFAULT_TRACER_NAME } from '../job-tracing.constants.js';
import { errorTypeOf, isErrorLike } from './error-type.js';

/** The messaging conventions' event (v1.41+) for a failed processing attempt. */
export const PROCESS_EXCEPTION_EVENT = 'messaging.process.exception';
/** SeverityNumber.WARN, which the conventions ask for. */
const SEVERITY_WARN = 13;

/** The part of the OpenTelemetry Logs API used here. */
interface EventLogger {
  emit(record: {
    eventName: string;
    severityNumber: number;
    severityText: string;
    context: Context;
    attributes: Attributes;
  }): void;
}

/**
 * The `logs` entry point of `@opentelemetry/api`, which 1.10 added; api 1.9 has none.
 * Read from the namespace, not imported by name: a named import of an export that
 * 1.9 lacks would fail to link. The SDK 3.x LoggerProvider registers there.
 */
function logsApi(): { getLogger(name: string): EventLogger } | undefined {
  const logs = (otel as { logs?: { getLogger(name: string): EventLogger } }).logs;
  return typeof logs?.getLogger === 'function' ? logs : undefined;
}

/**
 * Emits `messaging.process.exception` log records for failed attempts (opt-in).
 * Where the installed `@opentelemetry/api` has no Logs API, nothing is emitted and
 * nothing fails; without a registered LoggerProvider the API's no-op drops them.
 */
export class ExceptionEvents {
  private readonly logger?: EventLogger;

  constructor(loggerName = DEFAULT_TRACER_NAME) {
    // The API's proxy logger: a LoggerProvider registered later is still found.
    this.logger = logsApi()?.getLogger(loggerName);
  }

  /**
   * One WARN record in the span's context (so it carries its trace and span ids) with the
   * exception's type, message and stack and the task's fields. Never throws; job data is never read.
   */
  record(error: unknown, spanContext: Context, taskFields: Attributes): void {
    if (!this.logger) return;
    try {
      const errorLike = isErrorLike(error);
      this.logger.emit({
        eventName: PROCESS_EXCEPTION_EVENT,
        severityNumber: SEVERITY_WARN,
        severityText: 'WARN',
        context: spanContext,
        attributes: {
          ...taskFields,
          'exception.type': errorTypeOf(error),
          'exception.message': errorLike ? error.message : String(error),
          ...(errorLike && typeof error.stack === 'string' && { 'exception.stacktrace': error.stack }),
        },
      });
    } catch {
      // An exporter's problem must not fail the job.
    }
  }
}
