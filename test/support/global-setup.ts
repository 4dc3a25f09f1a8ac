// Jest loads global setup outside its module mapper, so the .ts path is literal.
import { randomUUID } from 'node:crypto';
import { resolveRedis } from '../../sample/src/redis.ts';

export default async function globalSetup(): Promise<void> {
  const redis = await resolveRedis();
  process.env.REDIS_URL = redis.url;
  // In every queue name and sample prefix of this run: see testRunId() in queues.ts.
  process.env.JOB_TRACING_TEST_RUN = `run${randomUUID().slice(0, 8)}`;
  (globalThis as { __redis__?: typeof redis }).__redis__ = redis;
}
