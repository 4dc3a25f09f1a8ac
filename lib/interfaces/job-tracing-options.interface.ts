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
   * Whether the default hooks write a log line per attempt, as Apalis does:
   * `Failed in 1.2 s: <error message>` at ERROR, `Started` and `Done in …` at DEBUG.
   * Default: true. Hooks passed in these options replace the default ones, lines included.
   */
  logAttempts?: boolean;
}
