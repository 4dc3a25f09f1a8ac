/** The workloads compared, each run in a process of its own. */
export const MODES = ['none', 'job-tracing', 'job-tracing-contextual', 'bullmq-otel', 'raw'] as const;
/**
 * Diagnostic, on request with --modes: `none` whose jobs carry a constant stored
 * trace context (as TracedQueue writes it) but no spans anywhere, to tell the cost
 * of storing the context on the job from the cost of tracing.
 */
export const EXTRA_MODES = ['none-metadata'] as const;
export type Mode = (typeof MODES)[number] | (typeof EXTRA_MODES)[number];

export const BASELINE: Mode = 'none';

/** What one mode's process measured in one round. */
export interface RoundResult {
  mode: Mode;
  jobs: number;
  enqueuePerSecond: number;
  processPerSecond: number;
  cpuMicrosPerJob: number;
  peakRssMb: number;
  spansPerJob: number;
  /** With --rss-samples: memory at evenly spaced points of the processing. */
  memorySamples?: Array<{ rssMb: number; heapAfterGcMb?: number }>;
}

/** What the orchestrator adds from Redis itself. */
export interface MeasuredRound extends RoundResult {
  redisCommandsPerJob: number;
  /** Field names and values of the job's hash, in bytes. */
  bytesPerJob: number;
  /** Redis's MEMORY USAGE of the job's hash, which includes its encoding. */
  memoryPerJob: number;
}
