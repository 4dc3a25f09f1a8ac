// Jest loads global teardown outside its module mapper, so the .ts path is literal.
import { deleteKeys, listKeys } from '../../sample/src/delete-keys.ts';

/**
 * After the run: Redis must hold no key this run created. Each test file removes
 * its own; a worker still open when that ran may have written one more (a
 * stalled-check marker), so those are swept here, reported, and then none may remain.
 */
export default async function globalTeardown(): Promise<void> {
  const redis = (globalThis as { __redis__?: { url: string; stop(): Promise<void> } }).__redis__;
  const runId = process.env.JOB_TRACING_TEST_RUN;
  try {
    if (redis && runId) {
      const pattern = `*${runId}*`;
      const swept = await listKeys(redis.url, pattern);
      if (swept.length > 0) {
        console.warn(`\nglobal teardown: ${swept.length} key(s) of run ${runId} outlived their test file: ${swept.slice(0, 10).join(', ')}`);
        await deleteKeys(redis.url, pattern);
      }
      const left = await listKeys(redis.url, pattern);
      if (left.length > 0) throw new Error(`The tests left ${left.length} key(s) in Redis: ${left.slice(0, 20).join(', ')}`);
      console.log(`\nglobal teardown: Redis holds no key of test run ${runId}`);
    }
  } finally {
    await redis?.stop();
  }
}
