import type { Job } from 'bullmq';
import { readStoredStyle } from '../context/propagation-style.js';
import { readStoredContext } from '../context/stored-trace-context.js';
import type { MakeSpan } from '../interfaces/make-span.interface.js';
import { quoteLogValue } from './log-text.js';

/**
 * Says once per queue, at INFO, that its jobs carry their producer's trace
 * context and the processor's strategy does not continue it (DefaultTaskSpan,
 * Apalis's default, never does): each attempt then starts a trace of its own,
 * which would otherwise surprise silently. Not a warning: it may be the choice.
 * Checking costs one property read per job until the queue has had its notice.
 */
export class IgnoredStoredContext {
  private readonly noticedQueues = new Set<string>();

  constructor(private readonly logger: { log(message: string): void }) {}

  /** `makeSpan` gave `job` a span without a parent and never read the stored context. */
  check(job: Job, makeSpan: MakeSpan): void {
    if (job.opts?.telemetry?.metadata === undefined || this.noticedQueues.has(job.queueName)) return;
    // A producer that chose `none` asked for no continuation; a broken context is not worth suggesting.
    const style = readStoredStyle(job);
    if (('style' in style && style.style === 'none') || !('context' in readStoredContext(job))) return;
    this.noticedQueues.add(job.queueName);
    this.logger.log(
      `Jobs of queue ${quoteLogValue(job.queueName)} carry their producer's trace context, which ${makeSpan.constructor.name} ` +
        'does not continue: each attempt starts a new trace. To continue it, use ContextualTaskSpan: ' +
        'JobTracingModule.forRoot({ makeSpan: new ContextualTaskSpan() }) for every processor, ' +
        'or @TraceTask(new ContextualTaskSpan()) on this one.',
    );
  }
}
