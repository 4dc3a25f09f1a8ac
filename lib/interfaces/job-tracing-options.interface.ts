import type { MakeSpan } from './make-span.interface.js';
import type { TaskHooks } from './task-hooks.interface.js';

export interface JobTracingModuleOptions extends TaskHooks {
  /** Strategy for processors without `@TraceTask`. Default: `new DefaultTaskSpan()`. */
  makeSpan?: MakeSpan;
  /**
   * Level filter, `DEFAULT[,QUEUE=LEVEL…]`, e.g. `info,email=debug`. Default: `info`.
   * The JOB_TRACING_LEVEL environment variable, when set, wins over it.
   */
  level?: string;
  /** Name of the OpenTelemetry tracer. Default: `nestjs-job-tracing`. */
  tracerName?: string;
  /** Whether `TracedQueue` wraps `add`/`addBulk` in a PRODUCER span `send <queue>`. Default: true. */
  producerSpan?: boolean;
  /**
   * Record the messaging metrics (process duration, consumed and sent messages, wait)
   * on the global MeterProvider. Default: true.
   */
  metrics?: boolean;
  /** Add `messaging.bullmq.job.name` to the job metrics: only for a small, fixed set of job names. Default: false. */
  metricsJobName?: boolean;
  /**
   * Observe the jobs per state of every registered queue (`true`) or of the named ones,
   * read from Redis only when the metric reader collects. Default: off.
   */
  queueMetrics?: boolean | string[];
}
