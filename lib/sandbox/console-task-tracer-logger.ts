import type { TaskTracerLogger } from '../tracing/task-tracer-logger.js';

/** What the tracer reports in a sandboxed child, which has no Nest logger: BullMQ pipes the child's console. */
export const CONSOLE_TASK_TRACER_LOGGER: TaskTracerLogger = {
  error: (message) => console.error(`[nestjs-job-tracing] ${message}`),
  warn: (message) => console.warn(`[nestjs-job-tracing] ${message}`),
  log: (message) => console.log(`[nestjs-job-tracing] ${message}`),
};
