/**
 * The workloads compared, each run in a process of its own. A mode is a set of
 * traits that worker.ts applies; adding one is a new entry here (and, for a new
 * trait, a line in worker.ts).
 */
export interface ModeTraits {
  /** Registers the OpenTelemetry SDK (tracer provider, context manager, W3C propagator). */
  sdk: boolean;
  /** Imports JobTracingModule.forRoot(), with this strategy on the processor. */
  jobTracing?: 'default' | 'contextual';
  /** Adds jobs through a TracedQueue instead of the plain Queue. */
  tracedQueue?: boolean;
  /** BullMQ's own telemetry (bullmq-otel) on the queue and its worker. */
  bullmqOtel?: boolean;
  /** The processor itself starts a span and runs the handler under `context.with`: the least tracing can cost. */
  handWrittenSpan?: boolean;
  /** Jobs carry a constant stored trace context (as TracedQueue writes it), traced by nobody. */
  constantStoredContext?: boolean;
  /** Also registers an SDK MeterProvider: the library's metrics (on by default) are then really recorded. */
  meterProvider?: boolean;
}

export const MODE_TRAITS = {
  none: { sdk: true },
  floor: { sdk: true, handWrittenSpan: true },
  'job-tracing': { sdk: true, jobTracing: 'default' },
  'job-tracing-contextual': { sdk: true, jobTracing: 'contextual', tracedQueue: true },
  'bullmq-otel': { sdk: true, bullmqOtel: true },
  raw: { sdk: false },
  'none-metadata': { sdk: true, constantStoredContext: true },
  // job-tracing records its metrics into the API's no-op meter; this one into an SDK MeterProvider.
  'job-tracing-metrics': { sdk: true, jobTracing: 'default', meterProvider: true },
} as const satisfies Record<string, ModeTraits>;

export type Mode = keyof typeof MODE_TRAITS;

/** What `npm run bench` runs unless --modes says otherwise. */
export const MODES: readonly Mode[] = ['none', 'floor', 'job-tracing', 'job-tracing-contextual', 'job-tracing-metrics', 'bullmq-otel'];

/**
 * On request with --modes. `none-metadata` tells the cost of storing the context
 * on the job from the cost of tracing; `raw` the cost of the SDK itself.
 */
export const EXTRA_MODES: readonly Mode[] = (Object.keys(MODE_TRAITS) as Mode[]).filter((mode) => !MODES.includes(mode));

/** Ratios are taken against it, within each round. */
export const BASELINE: Mode = 'none';
/** Added CPU is also given as a multiple of this mode's, within each round. */
export const FLOOR: Mode = 'floor';
/** The cost of metrics: `job-tracing-metrics` over this mode's CPU, within each round. */
export const WITHOUT_METRICS: Mode = 'job-tracing';
export const WITH_METRICS: Mode = 'job-tracing-metrics';

/** What one mode's process measured in one round. */
export interface RoundResult {
  mode: Mode;
  jobs: number;
  enqueuePerSecond: number;
  /** CPU of the enqueue phase alone, per job (the worker is not running then). */
  enqueueCpuMicrosPerJob: number;
  processPerSecond: number;
  /** CPU of the whole measured run (enqueue and processing), per job. */
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
