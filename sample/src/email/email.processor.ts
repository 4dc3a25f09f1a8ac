import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { ContextualTaskSpan, InjectTracedQueue, TraceTask, TracedQueue } from 'nestjs-job-tracing';
import { DnsService } from './dns.service.js';
import { EMAIL_QUEUE, type EmailJob, RECEIPTS_QUEUE, type ReceiptJob } from './email.constants.js';

@Processor(EMAIL_QUEUE)
@TraceTask(new ContextualTaskSpan())
export class EmailProcessor extends WorkerHost {
  private readonly logger = new Logger(EmailProcessor.name);

  constructor(
    private readonly dns: DnsService,
    @InjectTracedQueue(RECEIPTS_QUEUE) private readonly receipts: TracedQueue<ReceiptJob>,
  ) {
    super();
  }

  async process(job: Job<EmailJob>): Promise<void> {
    this.logger.log('Checking if dns configured');
    const domain = job.data.to.slice(job.data.to.lastIndexOf('@') + 1);
    if (!(await this.dns.isConfigured(domain, job.attemptsMade + 1))) {
      this.logger.warn('DNS is not configured yet; BullMQ will retry');
      throw new Error('DNS is not configured yet');
    }
    this.logger.log('Email sent');
    // A follow-up job: the trace continues into the receipts queue.
    await this.receipts.add('receipt', { emailJobId: job.id! });
  }
}
