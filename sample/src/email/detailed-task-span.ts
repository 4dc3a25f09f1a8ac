import type { Job } from 'bullmq';
import { type MakeSpan, type ReadStoredContext, SpanLevel, type TaskSpan } from 'nestjs-job-tracing';

/** A DEBUG span with the queue name and the payload's size (never the payload itself). */
export class DetailedTaskSpan implements MakeSpan {
  makeSpan(job: Job, readStoredContext: ReadStoredContext): TaskSpan {
    return {
      name: 'task',
      level: SpanLevel.DEBUG,
      parent: readStoredContext(),
      fields: {
        queue: job.queueName,
        payload_size: Buffer.byteLength(JSON.stringify(job.data)),
      },
    };
  }
}
