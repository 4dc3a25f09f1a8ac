import type { Job } from 'bullmq';

/** How long a job was planned to wait, and how long it really waited, for spans and metrics alike. */
export interface JobTiming {
  /** The delay the producer asked for (`opts.delay`), in milliseconds (0 when none). */
  delayMs: number;
  /**
   * From when the job became ready (added, or its delay ended) to when it first
   * started, in milliseconds; clamped at 0 against clock skew between producer
   * and worker. Undefined for retries and stalled re-runs, whose wait is mostly a
   * planned backoff that BullMQ does not timestamp, and when BullMQ did not record the start.
   */
  waitMs?: number;
}

export function jobTiming(job: Job): JobTiming {
  const delayMs = Math.max(0, Number(job.opts?.delay ?? 0) || 0);
  const { processedOn, timestamp } = job;
  if (typeof processedOn !== 'number' || typeof timestamp !== 'number' || !isFirstStart(job)) return { delayMs };
  return { delayMs, waitMs: Math.max(0, processedOn - (timestamp + delayMs)) };
}

// `attemptsStarted` counts stalled re-runs too; BullMQ versions without it have only `attemptsMade`.
function isFirstStart(job: Job): boolean {
  const started = (job as { attemptsStarted?: unknown }).attemptsStarted;
  return typeof started === 'number' ? started <= 1 : job.attemptsMade === 0;
}
