import type { Job } from 'bullmq';

/** How long a job was planned to wait, and how long it really waited, for spans and metrics alike. */
export interface JobTiming {
  /** The delay the producer asked for, in milliseconds (0 when none). */
  delayMs: number;
  /**
   * From when the job became ready (added, or its delay ended) to when this
   * attempt started, in milliseconds; clamped at 0 against clock skew between
   * producer and worker. Undefined when BullMQ did not record the start.
   */
  waitMs?: number;
}

export function jobTiming(job: Job): JobTiming {
  const delayMs = Math.max(0, Number(job.opts?.delay ?? job.delay ?? 0) || 0);
  const processedOn = job.processedOn;
  if (typeof processedOn !== 'number' || typeof job.timestamp !== 'number') return { delayMs };
  return { delayMs, waitMs: Math.max(0, processedOn - (job.timestamp + delayMs)) };
}
