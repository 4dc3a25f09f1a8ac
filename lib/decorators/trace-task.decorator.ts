import { SetMetadata } from '@nestjs/common';
import type { MakeSpan } from '../interfaces/make-span.interface.js';
import type { TaskTracingMetadata } from '../interfaces/task-tracing-metadata.interface.js';
import { TRACE_TASK_CLASS_METADATA, TRACE_TASK_METHOD_METADATA } from '../job-tracing.constants.js';

/**
 * Chooses the span strategy of a processor, on its class or its `process`
 * method. Without an argument, the module's default strategy applies.
 */
export function TraceTask(makeSpan?: MakeSpan): ClassDecorator & MethodDecorator {
  return recordTaskTracing('TraceTask', { traced: true, makeSpan });
}

/** Leaves a processor untraced even though JobTracingModule is imported. */
export function SkipTaskTracing(): ClassDecorator & MethodDecorator {
  return recordTaskTracing('SkipTaskTracing', { traced: false });
}

// Stored on the class, not on the method: other method decorators (nestjs-otel's
// @Span) replace `process`, and metadata on the replaced function would be lost.
function recordTaskTracing(decorator: string, metadata: TaskTracingMetadata): ClassDecorator & MethodDecorator {
  return (target: object, propertyKey?: string | symbol) => {
    // The setting applies to the whole processor, so on another method it would mislead.
    if (propertyKey !== undefined && propertyKey !== 'process') {
      throw new Error(
        `@${decorator}() on ${target.constructor.name}.${String(propertyKey)}(): ` +
          'put it on the processor class or on its process() method.',
      );
    }
    if (propertyKey === undefined) {
      SetMetadata(TRACE_TASK_CLASS_METADATA, metadata)(target as Function);
    } else {
      SetMetadata(TRACE_TASK_METHOD_METADATA, metadata)(target.constructor);
    }
  };
}
