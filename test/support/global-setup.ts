// Jest loads global setup outside its module mapper, so the .ts path is literal.
import { resolveRedis } from '../../sample/src/redis.ts';

export default async function globalSetup(): Promise<void> {
  const redis = await resolveRedis();
  process.env.REDIS_URL = redis.url;
  (globalThis as { __redis__?: typeof redis }).__redis__ = redis;
}
