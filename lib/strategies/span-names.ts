import type { Job } from 'bullmq';

/** Names a task span from its job; keep it low-cardinality (a queue name, never a job id). */
export type TaskSpanName = (job: Job) => string;

/** The messaging conventions' name, `process <queue>`, for backends whose queue views key on it. */
export const processSpanName: TaskSpanName = (job) => `process ${job.queueName}`;
