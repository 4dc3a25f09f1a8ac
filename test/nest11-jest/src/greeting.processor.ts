import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { ContextualTaskSpan, TraceTask } from 'nestjs-job-tracing';

export const GREETINGS = 'greetings';

@Processor(GREETINGS)
@TraceTask(new ContextualTaskSpan())
export class GreetingProcessor extends WorkerHost {
  async process(job: Job<{ name: string }>): Promise<string> {
    return `Hello, ${job.data.name}`;
  }
}
