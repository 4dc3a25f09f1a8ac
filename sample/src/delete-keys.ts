import { Redis } from 'ioredis';

/**
 * Deletes the keys matching a SCAN pattern (and `keep`, when given), never
 * more: the Redis may be shared, so no FLUSHDB. Returns how many it deleted.
 */
export async function deleteKeys(redisUrl: string, pattern: string, keep: (key: string) => boolean = () => true): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await redis.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      const ours = keys.filter(keep);
      if (ours.length > 0) deleted += await redis.del(...ours);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/** The keys matching a SCAN pattern, to check that none are left. */
export async function listKeys(redisUrl: string, pattern: string): Promise<string[]> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await redis.connect();
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  } finally {
    redis.disconnect();
  }
}
