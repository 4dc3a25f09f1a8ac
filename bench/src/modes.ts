/** The workloads compared, each run in a process of its own. */
export const MODES = ['none', 'job-tracing', 'job-tracing-contextual', 'bullmq-otel', 'raw'] as const;
export type Mode = (typeof MODES)[number];

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
