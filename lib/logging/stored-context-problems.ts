import type { Job } from 'bullmq';
import { escapeLogText, formatFieldValue, quoteLogValue } from './log-text.js';
import { RateLimitedWarning, type RateLimitedWarningOptions } from './rate-limited-warning.js';

/**
 * Reports why a job's stored context could not be used, rate-limited per queue.
 * A broken context is worth a warning; no context at all is normal (the producer
 * does not trace), so it is a debug note. A broken propagation style beside a good
 * context only costs the job's own choice: the processor's style applies; a broken
 * retry link only costs the link.
 */
export class StoredContextProblems {
  private readonly warnings: RateLimitedWarning;
  private readonly notes: RateLimitedWarning;
  private readonly styleWarnings: RateLimitedWarning;
  private readonly retryLinkWarnings: RateLimitedWarning;

  constructor(logger: { warn(message: string): void; debug?(message: string): void }, options?: RateLimitedWarningOptions) {
    const warn = (message: string) => logger.warn(message);
    this.warnings = new RateLimitedWarning(warn, summarize('ran under a new root trace'), options);
    this.notes = new RateLimitedWarning((message) => logger.debug?.(message), summarize('ran under a new root trace'), options);
    this.styleWarnings = new RateLimitedWarning(warn, summarize("used their processor's propagation style"), options);
    this.retryLinkWarnings = new RateLimitedWarning(warn, summarize('had no link to their previous attempt'), options);
  }

  report(job: Job, problem: string, absent = false): void {
    (absent ? this.notes : this.warnings).warn(job.queueName, describe(job, 'runs under a new root trace', problem), escapeLogText(problem));
  }

  reportStyle(job: Job, problem: string): void {
    this.styleWarnings.warn(job.queueName, describe(job, "uses its processor's propagation style", problem), escapeLogText(problem));
  }

  /** The previous attempt's span context could not be written or read back: the retry runs unlinked. */
  reportRetryLink(job: Job, problem: string): void {
    this.retryLinkWarnings.warn(job.queueName, describe(job, 'has no link to its previous attempt', problem), escapeLogText(problem));
  }
}

function describe(job: Job, outcome: string, problem: string): string {
  return `Job ${formatFieldValue(String(job.id))} of queue ${quoteLogValue(job.queueName)} ${outcome}: ${escapeLogText(problem)}`;
}

function summarize(outcome: string) {
  return (queueName: string, count: number, intervalMs: number, firstReason: string): string =>
    `${count} more ${count === 1 ? 'job' : 'jobs'} of queue ${quoteLogValue(queueName)} ${outcome} ` +
    `in the last ${Math.round(intervalMs / 1000)} s; the first: ${firstReason}`;
}
