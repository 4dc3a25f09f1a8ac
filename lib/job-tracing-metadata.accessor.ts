import { Injectable, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { TaskTracingMetadata } from './interfaces/task-tracing-metadata.interface.js';
import { TRACE_TASK_CLASS_METADATA, TRACE_TASK_METHOD_METADATA } from './job-tracing.constants.js';

@Injectable()
export class JobTracingMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** The decorator on `process` wins over the one on the class. */
  getTaskTracing(processorClass: Type): TaskTracingMetadata | undefined {
    return (
      this.reflector.get<TaskTracingMetadata>(TRACE_TASK_METHOD_METADATA, processorClass) ??
      this.reflector.get<TaskTracingMetadata>(TRACE_TASK_CLASS_METADATA, processorClass)
    );
  }
}
