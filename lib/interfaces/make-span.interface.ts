import type { Attributes, Link, SpanKind } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import type { PropagationStyle } from '../context/propagation-style.js';
import type { TracingContext } from '../context/tracing-context.js';
import type { SpanLevel } from '../levels/span-level.js';

/** What a strategy decides about one attempt's span; the library starts and ends it. */
export interface TaskSpan {
  name: string;
  level: SpanLevel;
  /** Defaults to CONSUMER. */
  kind?: SpanKind;
  /** Extra attributes; `task_id`, `attempt` and the messaging attributes are always set. */
  fields?: Attributes;
  /** Upstream trace to continue. Without it the span's parent is the worker's active context. */
  parent?: TracingContext;
  /**
   * How `parent` is continued: `child` (a child span), `link` (a new trace
   * linked to it) or `none` (a new trace). A style stored on the job wins.
   * Default: `child`, but `link` for a run of a job scheduler or a long delay.
   */
  propagation?: PropagationStyle;
  links?: Link[];
}

/**
 * Reads the trace context stored on the job, on first call only. Absent or
 * invalid context gives `undefined`, and the library logs why, once.
 */
export type ReadStoredContext = () => TracingContext | undefined;

/** A span strategy, as Apalis's `MakeSpan`: it sees the whole job and shapes its span. */
export interface MakeSpan {
  makeSpan(job: Job, readStoredContext: ReadStoredContext): TaskSpan;
}
