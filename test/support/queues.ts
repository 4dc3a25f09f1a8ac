import { getQueueToken } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { type Job, Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { connectionFromUrl, type RedisConnection } from '../../sample/src/redis-connection.js';

/** The Redis the global setup found, as BullMQ connection options. */
export function redisConnection(): RedisConnection {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the tests through jest, whose global setup finds Redis');
  return connectionFromUrl(url);
}

/** `server.address` and `server.port` of the test Redis, a single host, as spans and metrics carry them. */
export function serverAttributes(): { 'server.address': string; 'server.port': number } {
  const { host, port } = redisConnection();
  return { 'server.address': host, 'server.port': port };
}

/**
 * This `npm test` run's id, set by the global setup: it is in every queue name
 * the tests make, so the run removes its own keys and checks for leftovers
 * without touching other developers' keys on a shared Redis.
 */
export function testRunId(): string {
  const runId = process.env.JOB_TRACING_TEST_RUN;
  if (!runId) throw new Error('JOB_TRACING_TEST_RUN is not set: run the tests through jest, whose global setup sets it');
  return runId;
}

const createdQueueNames = new Set<string>();

/**
 * A queue name no other test or earlier run shares. The test file's keys for it,
 * under any prefix, are deleted after the file (test/support/remove-test-keys.ts).
 */
export function uniqueQueueName(prefix: string): string {
  const name = `${prefix}-${testRunId()}-${randomUUID().slice(0, 8)}`;
  createdQueueNames.add(name);
  return name;
}

/** The queue names this test file made, forgotten once returned. */
export function takeCreatedQueueNames(): string[] {
  const names = [...createdQueueNames];
  createdQueueNames.clear();
  return names;
}

export function queueOf(app: INestApplicationContext, queueName: string): Queue {
  return app.get<Queue>(getQueueToken(queueName), { strict: false });
}

/**
 * The job's final outcome, after all retries. Polls Redis rather than waiting on
 * QueueEvents, whose stream subscription can start after a fast job has finished.
 */
export async function finished(job: Job, timeoutMs = 10_000): Promise<unknown> {
  const queue = new Queue(job.queueName, { connection: redisConnection() });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const state = await queue.getJobState(job.id!);
      if (state === 'completed') return (await queue.getJob(job.id!))!.returnvalue;
      if (state === 'failed') throw new Error(`job ${job.id} failed: ${(await queue.getJob(job.id!))!.failedReason}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`job ${job.id} of queue ${job.queueName} did not finish within ${timeoutMs} ms`);
  } finally {
    await queue.close();
  }
}
