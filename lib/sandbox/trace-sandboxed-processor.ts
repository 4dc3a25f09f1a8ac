import { context, trace } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { tracedBullmqCommands } from '../instrument/traced-bullmq-commands.js';
import type { TraceBullmqCommands } from '../interfaces/job-tracing-options.interface.js';
import type { MakeSpan } from '../interfaces/make-span.interface.js';
import type { TaskHooks } from '../interfaces/task-hooks.interface.js';
import type { DefaultTaskHooksOptions } from '../tracing/default-task-hooks.js';
import { DEFAULT_TRACER_NAME, LEVEL_FILTER_ENV } from '../job-tracing.constants.js';
import { resolveLevelFilter } from '../levels/resolve-level-filter.js';
import { ContextualTaskSpan } from '../strategies/contextual-task-span.js';
import { type RedisListClient, SANDBOX_LOG_CLIENT } from '../tracing/attempt-links.js';
import { ExceptionEvents } from '../tracing/exception-event.js';
import type { TaskTracerLogger } from '../tracing/task-tracer-logger.js';
import { TaskTracer } from '../tracing/task-tracer.js';
import { CONSOLE_TASK_TRACER_LOGGER } from './console-task-tracer-logger.js';

export interface SandboxedTracingOptions extends TaskHooks, DefaultTaskHooksOptions {
  /** Strategy for this processor's spans. Default: `new ContextualTaskSpan()`: the child continues the stored trace. */
  makeSpan?: MakeSpan;
  /** Level filter, as the module's `level` option; JOB_TRACING_LEVEL wins over it. Default: `info`. */
  level?: string;
  /** Name of the OpenTelemetry tracer. Default: `nestjs-job-tracing`. */
  tracerName?: string;
  /**
   * A Redis client on the queue's Redis (an ioredis `Redis` or `Cluster`), to link each retried
   * attempt to the previous one: one LRANGE per retry. BullMQ gives the child no client of its own;
   * without one, attempts in the child are not linked (their failures still write the log line).
   */
  redis?: RedisListClient;
  /**
   * As the module's option. In the child only `retryLinks` applies, to its LRANGE on `redis` (the
   * `addLog` runs in the parent, whose Worker is not this wrapper's to change). Default: false.
   */
  traceBullmqCommands?: TraceBullmqCommands;
  /** Where the tracer reports its own problems. Default: the console, which BullMQ forwards from the child. */
  logger?: TaskTracerLogger;
  /** As the module's `creationLink`: in `child` propagation, also link to the creation context. Default: true. */
  creationLink?: boolean;
  /** As the module's `exceptionEvents`: a `messaging.process.exception` log record per failed attempt. Default: false. */
  exceptionEvents?: boolean;
}

/** The processor a sandboxed file exports: BullMQ calls it with its own job stand-in. */
export type SandboxedProcessor<T = unknown> = (job: Job, token?: string, signal?: AbortSignal) => Promise<T>;

/**
 * Wraps a sandboxed processor (the default export of a file BullMQ runs in a child
 * process or worker thread) so each attempt gets the span an in-process processor
 * gets. Nothing here loads Nest. The child needs its own OpenTelemetry SDK: start
 * it with `workerForkOptions: { execArgv: ['--import', './tracing.js'] }`.
 */
export function traceSandboxedProcessor<T>(
  processor: SandboxedProcessor<T>,
  options: SandboxedTracingOptions = {},
): SandboxedProcessor<T> {
  const makeSpan = options.makeSpan ?? new ContextualTaskSpan();
  // Built when the file loads, so a bad level fails the child's start-up, where BullMQ reports it, not every job.
  // The tracer is OpenTelemetry's proxy: it finds the child's SDK even if that registers later.
  const logger = options.logger ?? CONSOLE_TASK_TRACER_LOGGER;
  const taskTracer = new TaskTracer({
    tracer: trace.getTracer(options.tracerName ?? DEFAULT_TRACER_NAME),
    levelFilter: resolveLevelFilter(options.level, { name: LEVEL_FILTER_ENV, value: process.env[LEVEL_FILTER_ENV] }, logger),
    logger,
    hooks: { onStart: options.onStart, onSuccess: options.onSuccess, onFailure: options.onFailure, logAttempts: options.logAttempts },
    creationLink: options.creationLink,
    exceptionEvents: options.exceptionEvents ? new ExceptionEvents(options.tracerName) : undefined,
    traceRetryLinkCommands: tracedBullmqCommands(options.traceBullmqCommands).retryLinks,
  });
  const traced = (job: Job, token?: string, signal?: AbortSignal) => {
    if (options.redis) Object.defineProperty(job, SANDBOX_LOG_CLIENT, { value: options.redis });
    return taskTracer.run(makeSpan, job, context.active(), () => processor(job, token, signal));
  };
  return traced;
}
