export const DEFAULT_TRACER_NAME = 'nestjs-job-tracing';

/** Overrides the `level` option, as RUST_LOG does for an EnvFilter. */
export const LEVEL_FILTER_ENV = 'JOB_TRACING_LEVEL';

export const TRACE_TASK_CLASS_METADATA = 'nestjs-job-tracing:trace-task:class';
export const TRACE_TASK_METHOD_METADATA = 'nestjs-job-tracing:trace-task:process';

export const FEATURE_REGISTRATION_CHECK = 'nestjs-job-tracing:feature-registration-check';

/** Longest `opts.telemetry.metadata` read from a job: W3C headers plus baggage fit well within it. */
export const MAX_STORED_CONTEXT_LENGTH = 16 * 1024;

export function getTracedQueueToken(queueName: string): string {
  return `nestjs-job-tracing:traced-queue:${queueName}`;
}
