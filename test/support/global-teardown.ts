// Jest loads global teardown outside its module mapper, so the .ts path is literal.
import { removeRunKeys } from '../../sample/src/delete-keys.ts';

/** After the run: Redis must hold no key this run created. Each test file removes its own; the rest are swept and reported. */
export default async function globalTeardown(): Promise<void> {
  const redis = (globalThis as { __redis__?: { url: string; stop(): Promise<void> } }).__redis__;
  const runId = process.env.JOB_TRACING_TEST_RUN;
  try {
    if (redis && runId) await removeRunKeys(redis.url, runId, 'global teardown');
  } finally {
    await redis?.stop();
  }
}
