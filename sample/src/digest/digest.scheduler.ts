import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectTracedQueue, TracedQueue } from 'nestjs-job-tracing';
import { DIGEST_EVERY_MS, DIGEST_QUEUE, DIGEST_SCHEDULER } from './digest.constants.js';

/**
 * Creates the digest's job scheduler at start-up and removes it at shutdown.
 * Every run is a trace of its own, linked to the `send digest` span of the upsert.
 */
@Injectable()
export class DigestScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@InjectTracedQueue(DIGEST_QUEUE) private readonly digests: TracedQueue) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.digests.upsertJobScheduler(DIGEST_SCHEDULER, { every: DIGEST_EVERY_MS }, {
      name: 'digest',
      opts: { removeOnComplete: 100 },
    });
  }

  // Before BullModule closes its queues at shutdown.
  async beforeApplicationShutdown(): Promise<void> {
    await this.digests.queue.removeJobScheduler(DIGEST_SCHEDULER);
  }
}
