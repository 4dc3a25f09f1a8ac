import type { Span } from '@opentelemetry/api';
import type { Job } from 'bullmq';

/** Where BullMQ put a job whose processor threw one of its control-flow errors. */
export type JobMovedTo = 'delayed' | 'waiting-children' | 'wait' | 'rate-limited';

/**
 * BullMQ's control-flow errors: the processor moved the job and threw to say so.
 * The worker does not fail the job (see `handleFailed` in bullmq's worker), so
 * neither does its span. Matched by name, not by import: `WaitingError` is
 * missing from bullmq 5.x, and `instanceof` fails across two copies of bullmq.
 */
const MOVED_BY_ERROR_NAME: Readonly<Record<string, JobMovedTo>> = {
  DelayedError: 'delayed',
  WaitingChildrenError: 'waiting-children',
  WaitingError: 'wait',
};
/** BullMQ recognises a manual rate limit by this message, whatever the error's class. */
const RATE_LIMIT_MESSAGE = 'bullmq:rateLimitExceeded';

/** Where the error says the job was moved to, or undefined when it is a real failure. */
export function jobMovedBy(error: unknown): JobMovedTo | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ((error as { message?: unknown }).message === RATE_LIMIT_MESSAGE) return 'rate-limited';
  const name = String((error as { name?: unknown }).name);
  return Object.hasOwn(MOVED_BY_ERROR_NAME, name) ? MOVED_BY_ERROR_NAME[name] : movedByClass(error);
}

/** Whether an attempt that threw `error` was moved by BullMQ rather than failed: for spans and metrics alike. */
export function isJobMoved(error: unknown): boolean {
  return jobMovedBy(error) !== undefined;
}

/** Says on the span what happened instead of a failure: a `task.moved` event, and until when for a delay. */
export function recordJobMoved(span: Span, job: Job, movedTo: JobMovedTo): void {
  span.setAttribute('messaging.bullmq.job.moved_to', movedTo);
  if (movedTo !== 'delayed') {
    span.addEvent('task.moved', { moved_to: movedTo });
    return;
  }
  // job.moveToDelayed() has just set job.delay, relative to its call.
  const delayMs = Math.max(0, Number(job.delay) || 0);
  const delayedUntil = Date.now() + delayMs;
  span.setAttribute('messaging.bullmq.job.delayed_until', delayedUntil);
  span.addEvent('task.moved', {
    moved_to: movedTo,
    delay_ms: delayMs,
    delayed_until: new Date(delayedUntil).toISOString(),
  });
}

/** `instanceof` for a subclass, without importing the class: a prototype whose constructor has the name. */
function movedByClass(error: object): JobMovedTo | undefined {
  for (let proto = Object.getPrototypeOf(error); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && Object.hasOwn(MOVED_BY_ERROR_NAME, name)) return MOVED_BY_ERROR_NAME[name];
  }
  return undefined;
}
