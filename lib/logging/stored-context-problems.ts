import type { Job } from 'bullmq';
import { escapeLogText, formatFieldValue, quoteLogValue } from './log-text.js';
import { RateLimitedWarning, type RateLimitedWarningOptions } from './rate-limited-warning.js';

/**
 * Reports why a job runs under a new root trace, rate-limited per queue. A
 * broken context is worth a warning; no context at all is normal (the producer
 * does not trace), so it is a debug note.
 */
export class StoredContextProblems {
  private readonly warnings: RateLimitedWarning;
  private readonly notes: RateLimitedWarning;

  constructor(logger: { warn(message: string): void; debug?(message: string): void }, options?: RateLimitedWarningOptions) {
    this.warnings = new RateLimitedWarning((message) => logger.warn(message), summarize, options);
    this.notes = new RateLimitedWarning((message) => logger.debug?.(message), summarize, options);
  }

  report(job: Job, problem: string, absent = false): void {
    const reason = escapeLogText(problem);
    (absent ? this.notes : this.warnings).warn(
      job.queueName,
      `Job ${formatFieldValue(String(job.id))} of queue ${quoteLogValue(job.queueName)} runs under a new root trace: ${reason}`,
      reason,
    );
  }
}

function summarize(queueName: string, count: number, intervalMs: number, firstReason: string): string {
  return (
    `${count} more ${count === 1 ? 'job' : 'jobs'} of queue ${quoteLogValue(queueName)} ran under a new root trace ` +
    `in the last ${Math.round(intervalMs / 1000)} s; the first: ${firstReason}`
  );
}
