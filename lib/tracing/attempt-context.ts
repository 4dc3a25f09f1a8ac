import type { Context } from '@opentelemetry/api';
import type { Job } from 'bullmq';

/**
 * Kept on the Job object BullMQ passes to the processor and then emits with `completed` and `failed`;
 * a registered symbol, so that both builds of this package, loaded in one process, read each other's.
 */
const ATTEMPT_CONTEXT = Symbol.for('nestjs-job-tracing.attempt-context');

type JobWithAttempt = Job & { [ATTEMPT_CONTEXT]?: Context };

/** Remembers the context an attempt ran in (its span and task fields) on the attempt's Job. */
export function rememberAttemptContext(job: Job, ctx: Context): void {
  (job as JobWithAttempt)[ATTEMPT_CONTEXT] = ctx;
}

/** The context of the attempt that ran with `value` as its Job, if `value` is one. */
export function attemptContextOf(value: unknown): Context | undefined {
  return typeof value === 'object' && value !== null ? (value as JobWithAttempt)[ATTEMPT_CONTEXT] : undefined;
}
