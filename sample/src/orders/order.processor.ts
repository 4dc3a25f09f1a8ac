import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { ContextualTaskSpan, TraceTask } from 'nestjs-job-tracing';
import { ORDERS_QUEUE, type OrderStepJob } from './orders.constants.js';

@Processor(ORDERS_QUEUE)
@TraceTask(new ContextualTaskSpan())
export class OrderProcessor extends WorkerHost {
  private readonly logger = new Logger(OrderProcessor.name);

  async process(job: Job<OrderStepJob>): Promise<void> {
    this.logger.log(job.name === 'ship' ? 'Order shipped' : `Order step ${job.name} done`);
  }
}
