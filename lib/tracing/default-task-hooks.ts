import type { TaskHooks } from '../interfaces/task-hooks.interface.js';

/** Span events as Apalis's TraceLayer logs them. */
export const DEFAULT_TASK_HOOKS: Required<TaskHooks> = {
  onStart: (_job, span) => {
    span.addEvent('task.start');
  },
  onSuccess: (_job, _result, latencyMs, span) => {
    span.addEvent('task.done', { latency_ms: latencyMs });
  },
  onFailure: (_job, _error, latencyMs, span) => {
    span.addEvent('task.failed', { latency_ms: latencyMs });
  },
};
