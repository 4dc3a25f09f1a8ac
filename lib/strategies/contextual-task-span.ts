import type { Job } from 'bullmq';
import { formatTraceFlags } from '../context/w3c-trace-context.js';
import type { ReadStoredContext, TaskSpan } from '../interfaces/make-span.interface.js';
import { DefaultTaskSpan } from './default-task-span.js';

/**
 * Continues the trace stored on the job: the task span becomes a child of the
 * producer's span and carries the stored W3C fields. Same name and level
 * options as DefaultTaskSpan.
 */
export class ContextualTaskSpan extends DefaultTaskSpan {
  override makeSpan(job: Job, readStoredContext: ReadStoredContext): TaskSpan {
    const span = super.makeSpan(job);
    const stored = readStoredContext();
    if (!stored) return span;
    return {
      ...span,
      parent: stored,
      fields: {
        trace_id: stored.traceId,
        span_id: stored.spanId,
        trace_flags: formatTraceFlags(stored.traceFlags),
        ...(stored.traceState && { trace_state: stored.traceState }),
      },
    };
  }
}
