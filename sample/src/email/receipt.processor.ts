import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { TraceTask } from 'nestjs-job-tracing';
import { DetailedTaskSpan } from './detailed-task-span.js';
import { RECEIPTS_QUEUE } from './email.constants.js';

@Processor(RECEIPTS_QUEUE)
@TraceTask(new DetailedTaskSpan())
export class ReceiptProcessor extends WorkerHost {
  private readonly logger = new Logger(ReceiptProcessor.name);

  async process(): Promise<void> {
    this.logger.log('Receipt stored');
  }
}
