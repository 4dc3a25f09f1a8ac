export { InvalidTracingContextError } from './context/invalid-tracing-context.error.js';
export type { PropagationStyle } from './context/propagation-style.js';
export { type TraceCarrier, TracingContext } from './context/tracing-context.js';
export { InjectTracedFlowProducer } from './decorators/inject-traced-flow-producer.decorator.js';
export { InjectTracedQueue } from './decorators/inject-traced-queue.decorator.js';
export { SkipTaskTracing, TraceTask } from './decorators/trace-task.decorator.js';
export type {
  JobTracingFeatures,
  JobTracingModuleOptions,
  TraceBullmqCommands,
} from './interfaces/job-tracing-options.interface.js';
export type { MakeSpan, ReadStoredContext, TaskSpan } from './interfaces/make-span.interface.js';
export type { TaskHooks } from './interfaces/task-hooks.interface.js';
export { getTracedFlowProducerToken, getTracedQueueToken, LEVEL_FILTER_ENV } from './job-tracing.constants.js';
export { JobTracingModule } from './job-tracing.module.js';
export { LevelFilter } from './levels/level-filter.js';
export { SpanLevel } from './levels/span-level.js';
export { currentTaskFields, type TaskLogFields } from './logging/task-log-fields.js';
export { TaskLogger } from './logging/task-logger.js';
export type { JobTracingOptions } from './queue/traced-job-options.js';
export { type TracedFlowJob, TracedFlowProducer } from './queue/traced-flow-producer.js';
export {
  type TracedBulkJob,
  type TracedJobSchedulerTemplate,
  type TracedJobsOptions,
  TracedQueue,
  type TracedQueueOptions,
} from './queue/traced-queue.js';
export { ContextualTaskSpan, type ContextualTaskSpanOptions } from './strategies/contextual-task-span.js';
export { DefaultTaskSpan, type TaskSpanOptions } from './strategies/default-task-span.js';
export { processSpanName, type TaskSpanName } from './strategies/span-names.js';
