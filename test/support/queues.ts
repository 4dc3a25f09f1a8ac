import { getQueueToken } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { Job, Queue, QueueEvents } from 'bullmq';
import { randomUUID } from 'node:crypto';

export interface RedisConnection {
  host: string;
  port: number;
  password?: string;
  db?: number;
}

/** The Redis the global setup found, as BullMQ connection options. */
export function redisConnection(): RedisConnection {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the tests through jest, whose global setup finds Redis');
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.password && { password: decodeURIComponent(parsed.password) }),
    ...(parsed.pathname.length > 1 && { db: Number(parsed.pathname.slice(1)) }),
  };
}

/** A queue name no other test or earlier run shares. */
export function uniqueQueueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function queueOf(app: INestApplicationContext, queueName: string): Queue {
  return app.get<Queue>(getQueueToken(queueName), { strict: false });
}

/** Waits for the job's final outcome (after all retries) through QueueEvents. */
export async function finished(job: Job, timeoutMs = 10_000): Promise<unknown> {
  const events = new QueueEvents(job.queueName, { connection: redisConnection() });
  try {
    await events.waitUntilReady();
    return await job.waitUntilFinished(events, timeoutMs);
  } finally {
    await events.close();
  }
}
