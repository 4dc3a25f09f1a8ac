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
  /**
   * Strategy per queue for the processors given to `BullModule.registerQueue({ name, processors })`,
   * which have no class to decorate; `false` leaves that queue's inline processors untraced.
   * Queues not listed use `makeSpan`.
   */
  processors?: Record<string, MakeSpan | false>;
  /** Whether `TracedQueue` wraps `add`/`addBulk` in a PRODUCER span `send <queue>`. Default: true. */
  producerSpan?: boolean;
  /**
   * For `addBulk` and flows: a PRODUCER `create <queue>` span per job, whose context the job
   * stores, and a CLIENT `send` span linking them (messaging conventions v1.44).
   * `false`: one PRODUCER `send` span whose context every job of the batch stores. Default: true.
   */
  createSpans?: boolean;
  /**
   * In `child` propagation, the task span also links to the job's creation context
   * (its parent), as the messaging conventions ask. `false` drops that link; a task
   * that runs inside another span (bullmq-otel's) keeps it, as its only tie to the
   * producer. Default: true.
   */
  creationLink?: boolean;
  /**
   * Emit a `messaging.process.exception` log record (severity WARN) for each failed
   * attempt through the OpenTelemetry Logs API (`logs` of @opentelemetry/api 1.10+, else the
   * optional peer @opentelemetry/api-logs), with the exception and the task's fields, in the
   * span's context. BullMQ's moves (DelayedError…) are no failure. Without a Logs API nothing
   * is emitted. Default: false.
   */
  exceptionEvents?: boolean;
  /**
   * A job delayed by at least this many milliseconds starts a new trace linked
   * to its producer, instead of stretching the producer's trace over the delay,
   * unless the job or its processor chose a propagation style. Default: 60000.
   * `Infinity` keeps every delayed job in its producer's trace.
   */
  longDelayMs?: number;
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
  /**
   * Whether the default hooks write a log line per attempt, as Apalis does:
   * `Failed in 1.2 s: <error message>` at ERROR, `Started` and `Done in …` at DEBUG.
   * Default: true. Hooks passed in these options replace the default ones, lines included.
   */
  logAttempts?: boolean;
  /**
   * BullMQ's own Redis commands (the worker's fetch loop, lock renewal, stalled checks and the moves
   * after an attempt; the add scripts under the `send` span; this library's retry-link write and read)
   * run with tracing suppressed, so auto-instrumentations such as instrumentation-ioredis record none
   * of them and no job payload reaches a span. `true` traces them all again; an object traces the
   * named ones. The processor's own commands are always traced. Default: false.
   */
  traceBullmqCommands?: TraceBullmqCommands;
}

/** Which of BullMQ's own Redis commands stay traced: all (`true`), none (`false`), or per patch point. */
export type TraceBullmqCommands =
  | boolean
  | {
      /** The fetch loop and blocking poll, lock renewal, stalled checks, the moves after an attempt. */
      worker?: boolean;
      /** `add`, `addBulk`, flow and scheduler scripts sent by `TracedQueue` and `TracedFlowProducer`. */
      producer?: boolean;
      /** This library's write (`addLog`) and read (`LRANGE`) of the previous attempt's span. */
      retryLinks?: boolean;
    };

/** What `JobTracingModule.forFeature({...})` provides, for `@InjectTracedQueue` and `@InjectTracedFlowProducer`. */
export interface JobTracingFeatures {
  /** Names given to `BullModule.registerQueue`. */
  queues?: string[];
  /** Names given to `BullModule.registerFlowProducer`. */
  flowProducers?: string[];
}
