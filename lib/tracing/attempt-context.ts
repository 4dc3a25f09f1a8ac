import type { Context } from '@opentelemetry/api';
import type { Job } from 'bullmq';

/**
 * Kept on the Job object BullMQ passes to the processor and emits with its events;
 * registered symbols, so that both builds of this package, loaded in one process, read each other's.
 */
const ATTEMPT_CONTEXT = Symbol.for('nestjs-job-tracing.attempt-context');
const HELD_ACTIVE_EVENT = Symbol.for('nestjs-job-tracing.held-active-event');

type JobWithAttempt = Job & { [ATTEMPT_CONTEXT]?: Context; [HELD_ACTIVE_EVENT]?: () => void };

/** Remembers the context an attempt ran in (its span and task fields) on the attempt's Job. */
export function rememberAttemptContext(job: Job, ctx: Context): void {
  (job as JobWithAttempt)[ATTEMPT_CONTEXT] = ctx;
}

/** The context of the attempt that ran with `value` as its Job, if `value` is one. */
export function attemptContextOf(value: unknown): Context | undefined {
  return typeof value === 'object' && value !== null ? (value as JobWithAttempt)[ATTEMPT_CONTEXT] : undefined;
}

/**
 * BullMQ emits `active` when it fetches a job, before the attempt's span exists: the Worker holds
 * the emission back on the Job, for the attempt to make inside its span.
 */
export function holdActiveEvent(job: Job, emit: () => void): void {
  (job as JobWithAttempt)[HELD_ACTIVE_EVENT] = emit;
}

/** The held-back `active` emission of `value`'s attempt, taken: making it is now the caller's. */
export function takeActiveEvent(value: unknown): (() => void) | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const emit = (value as JobWithAttempt)[HELD_ACTIVE_EVENT];
  if (emit) (value as JobWithAttempt)[HELD_ACTIVE_EVENT] = undefined;
  return emit;
}
