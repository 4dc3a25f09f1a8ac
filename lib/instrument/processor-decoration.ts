import { ProcessorDecoratorService } from '@nestjs/bullmq';
import type { Processor } from 'bullmq';
import { processGlobal } from '../process-global.js';

/** One application's handle on the processor seam of @nestjs/bullmq. */
export interface ProcessorDecoration {
  /** Whether `service` is this application's ProcessorDecoratorService. */
  owns(service: ProcessorDecoratorService): boolean;
  decorate(processor: Processor): Processor;
}

// One registry for every copy of this package: whichever copy patches first dispatches to all.
const decorations = processGlobal('processor-decorations', () => new Set<ProcessorDecoration>());
const PATCHED = Symbol.for('nestjs-job-tracing.processor-decorator-patched');

/**
 * `ProcessorDecoratorService.decorate` is @nestjs/bullmq's documented seam for
 * wrapping processors. Its instance is private to BullModule and may not exist
 * yet when our providers are built, so the method is extended on the prototype,
 * once per process, and dispatches to the application that owns the instance.
 */
export function addProcessorDecoration(decoration: ProcessorDecoration): () => void {
  const prototype = ProcessorDecoratorService.prototype as ProcessorDecoratorService & { [PATCHED]?: true };
  if (!prototype[PATCHED]) {
    const original = prototype.decorate;
    prototype.decorate = function decorate(this: ProcessorDecoratorService, processor) {
      const decorated = original.call(this, processor);
      for (const candidate of decorations) {
        if (candidate.owns(this)) return candidate.decorate(decorated);
      }
      return decorated;
    };
    prototype[PATCHED] = true;
  }
  decorations.add(decoration);
  return () => decorations.delete(decoration);
}
