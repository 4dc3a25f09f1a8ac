export const DEFAULT_TRACER_NAME = 'nestjs-job-tracing';

/** `messaging.system` on every span and metric: not a well-known value, which the conventions allow. */
export const MESSAGING_SYSTEM = 'bullmq';

/** The Nest logger context of the library's own lines (`JobTracing: Failed in 1.2 s: …`). */
export const LIBRARY_LOG_CONTEXT = 'JobTracing';

/** Overrides the `level` option, as RUST_LOG does for an EnvFilter. */
export const LEVEL_FILTER_ENV = 'JOB_TRACING_LEVEL';

export const TRACE_TASK_CLASS_METADATA = 'nestjs-job-tracing:trace-task:class';
export const TRACE_TASK_METHOD_METADATA = 'nestjs-job-tracing:trace-task:process';

export const FEATURE_REGISTRATION_CHECK = 'nestjs-job-tracing:feature-registration-check';

/** Longest `opts.telemetry.metadata` read from a job: W3C headers plus baggage fit well within it. */
export const MAX_STORED_CONTEXT_LENGTH = 16 * 1024;

/**
 * Key of the job's propagation style, stored beside the W3C headers in
 * `opts.telemetry.metadata`; propagators ignore keys they do not know.
 */
export const PROPAGATION_STYLE_KEY = 'nestjs-job-tracing-propagation';

/** A job delayed this long or longer starts its own trace, linked to its producer, unless it chose a style. */
export const DEFAULT_LONG_DELAY_MS = 60_000;

export function getTracedQueueToken(queueName: string): string {
  return `nestjs-job-tracing:traced-queue:${queueName}`;
}

export function getTracedFlowProducerToken(flowProducerName: string): string {
  return `nestjs-job-tracing:traced-flow-producer:${flowProducerName}`;
}
