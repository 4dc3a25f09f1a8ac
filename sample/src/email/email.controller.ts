import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { InjectTracedQueue, TracedQueue } from 'nestjs-job-tracing';
import { EMAIL_QUEUE, type EmailJob } from './email.constants.js';

@Controller('emails')
export class EmailController {
  constructor(@InjectTracedQueue(EMAIL_QUEUE) private readonly emails: TracedQueue<EmailJob>) {}

  /** Enqueues inside the HTTP server span, so the job continues this request's trace. */
  @Post()
  @HttpCode(202)
  async send(@Body() body: Partial<EmailJob>): Promise<{ jobId: string | undefined }> {
    if (typeof body?.to !== 'string' || !body.to.includes('@')) {
      throw new BadRequestException('"to" must be an email address');
    }
    const job = await this.emails.add('send', { to: body.to }, { attempts: 3, backoff: { type: 'fixed', delay: 200 } });
    return { jobId: job.id };
  }
}
