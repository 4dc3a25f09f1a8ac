import type { JobsOptions } from 'bullmq';
import { assertPropagationStyle, type PropagationStyle, withPropagationStyle } from '../context/propagation-style.js';
import { serializeContext, withStoredContext } from '../context/stored-trace-context.js';
import { explicitParent, type TracingContext } from '../context/tracing-context.js';

/** What a traced producer accepts beside BullMQ's own job options. */
export interface JobTracingOptions {
  /** The trace to continue, instead of the producer span (or the active context). */
  tracingContext?: TracingContext;
  /** How the worker continues this job's trace; wins over the processor's style. See `PropagationStyle`. */
  propagation?: PropagationStyle;
}

export interface TracedJobsOptions extends JobsOptions, JobTracingOptions {}

type WithTelemetry = Pick<JobsOptions, 'telemetry'>;

/**
 * BullMQ's options for one job: the tracing options taken out, the trace
 * context (and the job's style, when it sets one) stored in `telemetry.metadata`.
 * `queueDefaults`: the queue's default job options, whose `telemetry` BullMQ would
 * otherwise lose, since it merges job options one level deep.
 * Throws a TypeError on a propagation value that is not a style.
 */
export function toStoredOptions<O extends WithTelemetry>(
  opts: (O & JobTracingOptions) | undefined,
  producerMetadata: string | undefined,
  where: string,
  queueDefaults?: JobsOptions,
): O {
  const { tracingContext, propagation, ...jobOptions } = opts ?? ({} as O & JobTracingOptions);
  const style = assertPropagationStyle(propagation, where);
  const metadata = tracingContext ? serializeContext(explicitParent(tracingContext)) : producerMetadata;
  const stored = withStoredContext(jobOptions as JobsOptions, metadata, queueDefaults) as O;
  const storedMetadata = stored.telemetry?.metadata;
  if (style === undefined || storedMetadata === undefined) return stored;
  return { ...stored, telemetry: { ...stored.telemetry, metadata: withPropagationStyle(storedMetadata, style) } };
}
