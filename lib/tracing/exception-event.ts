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

type LogsApi = { getLogger(name: string): EventLogger };

/** The optional peer for @opentelemetry/api before 1.10, whose 2.x SDK registers its LoggerProvider there. */
const API_LOGS_PACKAGE = '@opentelemetry/api-logs';

/**
 * The `logs` entry point of `@opentelemetry/api`, which 1.10 added and where the 3.x SDK
 * registers its LoggerProvider. Read from the namespace, not imported by name: a named
 * import of an export that api 1.9 lacks would fail to link.
 */
function logsOfApi(): LogsApi | undefined {
  const logs = (otel as { logs?: LogsApi }).logs;
  return typeof logs?.getLogger === 'function' ? logs : undefined;
}

/**
 * Emits `messaging.process.exception` log records for failed attempts (opt-in), through
 * the Logs API of @opentelemetry/api 1.10+, else through the optional peer
 * @opentelemetry/api-logs (>= 0.203, the first with `eventName`), loaded once, lazily,
 * by a dynamic import. With neither, nothing is emitted and nothing fails; without a
 * registered LoggerProvider the API's no-op logger drops the records.
 */
export class ExceptionEvents {
  private logger?: EventLogger;

  constructor(loggerName = DEFAULT_TRACER_NAME) {
    // A proxy logger: a LoggerProvider registered later is still found.
    const api = logsOfApi();
    if (api) {
      this.logger = api.getLogger(loggerName);
      return;
    }
    // A variable specifier: no type or bundle dependency on a package that may be absent.
    const specifier: string = API_LOGS_PACKAGE;
    import(specifier).then(
      (apiLogs: { logs?: LogsApi }) => {
        if (typeof apiLogs.logs?.getLogger === 'function') this.logger = apiLogs.logs.getLogger(loggerName);
      },
      () => undefined, // not installed: no events
    );
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
