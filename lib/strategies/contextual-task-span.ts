import type { Job } from 'bullmq';
import { assertPropagationStyle, type PropagationStyle } from '../context/propagation-style.js';
import { formatTraceFlags } from '../context/w3c-trace-context.js';
import type { ReadStoredContext, TaskSpan } from '../interfaces/make-span.interface.js';
import { DefaultTaskSpan, type TaskSpanOptions } from './default-task-span.js';

export interface ContextualTaskSpanOptions extends TaskSpanOptions {
  /**
   * How this processor continues the stored trace: `child`, `link` or `none`.
   * A job's own style wins. Default: `child`, and `link` for scheduler runs and long delays.
   */
  propagation?: PropagationStyle;
}

/**
 * Continues the trace stored on the job: the task span becomes a child of the
 * producer's span (or a new trace linked to it) and carries the stored W3C
 * fields. Same name and level options as DefaultTaskSpan.
 */
export class ContextualTaskSpan extends DefaultTaskSpan {
  private readonly propagation?: PropagationStyle;

  constructor(options: ContextualTaskSpanOptions = {}) {
    super(options);
    this.propagation = assertPropagationStyle(options.propagation, 'ContextualTaskSpan');
  }

  override makeSpan(job: Job, readStoredContext: ReadStoredContext): TaskSpan {
    const span = super.makeSpan(job);
    const stored = readStoredContext();
    if (!stored) return span;
    return {
      ...span,
      parent: stored,
      ...(this.propagation && { propagation: this.propagation }),
      fields: {
        trace_id: stored.traceId,
        span_id: stored.spanId,
        trace_flags: formatTraceFlags(stored.traceFlags),
        ...(stored.traceState && { trace_state: stored.traceState }),
      },
    };
  }
}
