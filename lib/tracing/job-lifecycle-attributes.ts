import type { Attributes } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { jobTiming } from './job-timing.js';

/** No OpenTelemetry messaging convention names these, so they live under `messaging.bullmq.*`. */
const JOB_DELAY_ATTRIBUTE = 'messaging.bullmq.job.delay_ms';
const JOB_WAIT_ATTRIBUTE = 'messaging.bullmq.job.wait_ms';
const JOB_ATTEMPTS_MADE_ATTRIBUTE = 'messaging.bullmq.job.attempts_made';
const JOB_STALLED_COUNT_ATTRIBUTE = 'messaging.bullmq.job.stalled_count';

/**
 * What the job's own fields tell about this attempt: its planned delay, its real
 * wait, how many attempts failed before it and how often it stalled. Read from
 * the job as BullMQ fetched it: no Redis command. Zero counts are left out.
 */
export function jobLifecycleAttributes(job: Job): Attributes {
  const { delayMs, waitMs } = jobTiming(job);
  const attributes: Attributes = {};
  if (delayMs > 0) attributes[JOB_DELAY_ATTRIBUTE] = delayMs;
  if (waitMs !== undefined) attributes[JOB_WAIT_ATTRIBUTE] = waitMs;
  if (job.attemptsMade > 0) attributes[JOB_ATTEMPTS_MADE_ATTRIBUTE] = job.attemptsMade;
  const stalled = (job as { stalledCounter?: unknown }).stalledCounter;
  if (typeof stalled === 'number' && stalled > 0) attributes[JOB_STALLED_COUNT_ATTRIBUTE] = stalled;
  return attributes;
}
