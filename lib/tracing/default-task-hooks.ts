import type { TaskHooks } from '../interfaces/task-hooks.interface.js';
import type { LevelFilter } from '../levels/level-filter.js';
import { SpanLevel } from '../levels/span-level.js';
import { escapeLogText, safeString } from '../logging/log-text.js';
import type { TaskTracerLogger } from './task-tracer-logger.js';

export interface DefaultTaskHooksOptions {
  /** Whether the default hooks also write a log line per attempt. Default: true. */
  logAttempts?: boolean;
}

/**
 * What Apalis's TraceLayer does by default, as tower-http's: `task.start` and
 * `task.done` at DEBUG, recorded only where the level filter lets DEBUG
 * through for the job's queue; `task.failed` at ERROR, always. Each also
 * writes its line through the tracer's logger; the tracer calls hooks inside
 * the task's scope, so TaskLogger prints them with the task's fields.
 */
export function defaultTaskHooks(
  logger: TaskTracerLogger,
  levelFilter: LevelFilter,
  { logAttempts = true }: DefaultTaskHooksOptions = {},
): Required<TaskHooks> {
  const debugEnabled = (queueName: string) => levelFilter.enabled(SpanLevel.DEBUG, queueName);
  return {
    onStart: (job, span) => {
      if (!debugEnabled(job.queueName)) return;
      span.addEvent('task.start');
      if (logAttempts) logger.debug?.('Started');
    },
    onSuccess: (job, _result, latencyMs, span) => {
      if (!debugEnabled(job.queueName)) return;
      span.addEvent('task.done', { latency_ms: latencyMs });
      if (logAttempts) logger.debug?.(`Done in ${formatLatency(latencyMs)}`);
    },
    onFailure: (_job, error, latencyMs, span) => {
      span.addEvent('task.failed', { latency_ms: latencyMs });
      // The error's message only: its stack is on the span, and job data is never logged.
      if (logAttempts) logger.error(`Failed in ${formatLatency(latencyMs)}: ${escapeLogText(errorMessage(error))}`);
    },
  };
}

/** As Apalis prints `done_in`: milliseconds below a second, seconds above. */
function formatLatency(latencyMs: number): string {
  return latencyMs < 1000 ? `${latencyMs.toFixed(1)} ms` : `${(latencyMs / 1000).toFixed(1)} s`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : safeString(error);
}
