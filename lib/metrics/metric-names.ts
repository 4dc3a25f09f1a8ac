/** Bucket boundaries, in seconds, that the messaging conventions recommend for their duration histograms. */
export const MESSAGING_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** A job may wait minutes behind a backlog: the wait histogram reaches further than the conventions' 10 s. */
export const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

// OpenTelemetry messaging conventions.
export const PROCESS_DURATION = 'messaging.process.duration';
export const CONSUMED_MESSAGES = 'messaging.client.consumed.messages';
export const SENT_MESSAGES = 'messaging.client.sent.messages';
export const CLIENT_OPERATION_DURATION = 'messaging.client.operation.duration';

// No convention names these: system-specific names go under `messaging.bullmq.*`.
export const JOB_WAIT_DURATION = 'messaging.bullmq.job.wait.duration';
export const QUEUE_JOBS = 'messaging.bullmq.queue.jobs';
export const JOB_NAME_ATTRIBUTE = 'messaging.bullmq.job.name';
export const JOB_STATE_ATTRIBUTE = 'messaging.bullmq.job.state';
