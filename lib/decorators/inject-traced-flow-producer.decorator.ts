import { Inject } from '@nestjs/common';
import { getTracedFlowProducerToken } from '../job-tracing.constants.js';

/** Injects the `TracedFlowProducer` registered with `JobTracingModule.forFeature({ flowProducers: [name] })`. */
export const InjectTracedFlowProducer = (flowProducerName: string): ParameterDecorator & PropertyDecorator =>
  Inject(getTracedFlowProducerToken(flowProducerName));
