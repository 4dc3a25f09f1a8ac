import { context, trace } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import type { MakeSpan } from '../interfaces/make-span.interface.js';
import type { TaskHooks } from '../interfaces/task-hooks.interface.js';
import { DEFAULT_TRACER_NAME, LEVEL_FILTER_ENV } from '../job-tracing.constants.js';
import { LevelFilter } from '../levels/level-filter.js';
import { ContextualTaskSpan } from '../strategies/contextual-task-span.js';
import type { TaskTracerLogger } from '../tracing/task-tracer-logger.js';
import { TaskTracer } from '../tracing/task-tracer.js';
import { CONSOLE_TASK_TRACER_LOGGER } from './console-task-tracer-logger.js';

export interface SandboxedTracingOptions extends TaskHooks {
  /** Strategy for this processor's spans. Default: `new ContextualTaskSpan()`: the child continues the stored trace. */
  makeSpan?: MakeSpan;
  /** Level filter, as the module's `level` option; JOB_TRACING_LEVEL wins over it. Default: `info`. */
  level?: string;
  /** Name of the OpenTelemetry tracer. Default: `nestjs-job-tracing`. */
  tracerName?: string;
  /** Where the tracer reports its own problems. Default: the console, which BullMQ forwards from the child. */
  logger?: TaskTracerLogger;
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
  let taskTracer: TaskTracer | undefined;
  // Built on the first job, once the child's SDK has registered its providers.
  const tracerOf = () =>
    (taskTracer ??= new TaskTracer(
      trace.getTracer(options.tracerName ?? DEFAULT_TRACER_NAME),
      LevelFilter.parse(process.env[LEVEL_FILTER_ENV] || options.level || 'info'),
      options.logger ?? CONSOLE_TASK_TRACER_LOGGER,
      { onStart: options.onStart, onSuccess: options.onSuccess, onFailure: options.onFailure },
    ));
  const traced = (job: Job, token?: string, signal?: AbortSignal) =>
    tracerOf().run(makeSpan, job, context.active(), () => processor(job, token, signal));
  return traced;
}
