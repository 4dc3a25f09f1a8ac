export const DEFAULT_TRACER_NAME = 'nestjs-job-tracing';

/** The Nest logger context of the library's own lines (`JobTracing: Failed in 1.2 s: …`). */
export const LIBRARY_LOG_CONTEXT = 'JobTracing';

/** Overrides the `level` option, as RUST_LOG does for an EnvFilter. */
export const LEVEL_FILTER_ENV = 'JOB_TRACING_LEVEL';

export const TRACE_TASK_CLASS_METADATA = 'nestjs-job-tracing:trace-task:class';
export const TRACE_TASK_METHOD_METADATA = 'nestjs-job-tracing:trace-task:process';

/** Longest `opts.telemetry.metadata` read from a job: W3C headers plus baggage fit well within it. */
export const MAX_STORED_CONTEXT_LENGTH = 16 * 1024;

export function getTracedQueueToken(queueName: string): string {
  return `nestjs-job-tracing:traced-queue:${queueName}`;
}
