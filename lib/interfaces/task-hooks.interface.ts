import type { Span } from '@opentelemetry/api';
import type { Job } from 'bullmq';

/**
 * Callbacks around one attempt, kept apart from span making as in tower-http's
 * TraceLayer. Each replaces its default; a hook that throws is logged and ignored.
 * Hooks run inside the task's span and scope, so what they log carries the task's fields.
 */
export interface TaskHooks {
  /** Default: a `task.start` event and a `Started` line, both only where the level filter enables DEBUG for the queue. */
  onStart?(job: Job, span: Span): void;
  /** Default: a `task.done` event with `latency_ms` and a `Done in …` line, both only where DEBUG is enabled. */
  onSuccess?(job: Job, result: unknown, latencyMs: number, span: Span): void;
  /**
   * Default: a `task.failed` event with `latency_ms` and an ERROR line `Failed in …: <message>`.
   * The exception and ERROR status are always recorded.
   */
  onFailure?(job: Job, error: unknown, latencyMs: number, span: Span): void;
}
