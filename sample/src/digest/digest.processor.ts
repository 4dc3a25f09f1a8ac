import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { ContextualTaskSpan, TraceTask } from 'nestjs-job-tracing';
import { DIGEST_QUEUE } from './digest.constants.js';

@Processor(DIGEST_QUEUE)
@TraceTask(new ContextualTaskSpan())
export class DigestProcessor extends WorkerHost {
  private readonly logger = new Logger(DigestProcessor.name);

  async process(): Promise<void> {
    this.logger.log('Digest sent');
  }
}
