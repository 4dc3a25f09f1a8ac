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

/**
 * After a test run: the keys with `runId` in their name that outlived their test
 * (a worker still open may write one more) are deleted and reported as `who`;
 * then none may remain.
 */
export async function removeRunKeys(redisUrl: string, runId: string, who: string): Promise<void> {
  const pattern = `*${runId}*`;
  const swept = await listKeys(redisUrl, pattern);
  if (swept.length > 0) {
    console.warn(`\n${who}: ${swept.length} key(s) of run ${runId} outlived their test file: ${swept.slice(0, 10).join(', ')}`);
    await deleteKeys(redisUrl, pattern);
  }
  const left = await listKeys(redisUrl, pattern);
  if (left.length > 0) throw new Error(`The tests left ${left.length} key(s) in Redis: ${left.slice(0, 20).join(', ')}`);
  console.log(`\n${who}: Redis holds no key of test run ${runId}`);
}
