import { Inject } from '@nestjs/common';
import { getTracedQueueToken } from '../job-tracing.constants.js';

/** Injects the `TracedQueue` registered with `JobTracingModule.forFeature(queueName)`. */
export const InjectTracedQueue = (queueName: string): ParameterDecorator & PropertyDecorator =>
  Inject(getTracedQueueToken(queueName));
