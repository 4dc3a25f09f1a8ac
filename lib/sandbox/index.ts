// The entry for sandboxed processor files (`nestjs-job-tracing/sandbox`): it loads no @nestjs/* package,
// since BullMQ starts the child process without Nest.
export { TracingContext } from '../context/tracing-context.js';
export type { MakeSpan, ReadStoredContext, TaskSpan } from '../interfaces/make-span.interface.js';
export type { TaskHooks } from '../interfaces/task-hooks.interface.js';
export { SpanLevel } from '../levels/span-level.js';
export { ContextualTaskSpan } from '../strategies/contextual-task-span.js';
export { DefaultTaskSpan, type TaskSpanOptions } from '../strategies/default-task-span.js';
export type { RedisListClient } from '../tracing/attempt-links.js';
export type { TaskTracerLogger } from '../tracing/task-tracer-logger.js';
export {
  type SandboxedProcessor,
  type SandboxedTracingOptions,
  traceSandboxedProcessor,
} from './trace-sandboxed-processor.js';
