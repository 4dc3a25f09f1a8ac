import type { Span } from '@opentelemetry/api';
import type { Job } from 'bullmq';

/**
 * Callbacks around one attempt, kept apart from span making as in tower-http's
 * TraceLayer. Each replaces its default; a hook that throws is logged and ignored.
 */
export interface TaskHooks {
  /** Default: a `task.start` event. */
  onStart?(job: Job, span: Span): void;
  /** Default: a `task.done` event with `latency_ms`. */
  onSuccess?(job: Job, result: unknown, latencyMs: number, span: Span): void;
  /** Default: a `task.failed` event with `latency_ms`. The exception and ERROR status are always recorded. */
  onFailure?(job: Job, error: unknown, latencyMs: number, span: Span): void;
}
