import type { Attributes } from '@opentelemetry/api';
import type { Job } from 'bullmq';

/** Names the job scheduler (or repeatable job) that made a run; BullMQ's own telemetry says `bullmq.job.scheduler.id`. */
export const SCHEDULER_ID_ATTRIBUTE = 'messaging.bullmq.job_scheduler.id';

/** The id of the job scheduler that made this job, if it is one of its runs: BullMQ keeps it as `repeatJobKey`. */
export function schedulerIdOf(job: Job): string | undefined {
  return typeof job.repeatJobKey === 'string' && job.repeatJobKey !== '' ? job.repeatJobKey : undefined;
}

export function schedulerRunFields(job: Job): Attributes {
  const schedulerId = schedulerIdOf(job);
  return schedulerId === undefined ? {} : { [SCHEDULER_ID_ATTRIBUTE]: schedulerId };
}
