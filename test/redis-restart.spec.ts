import { afterAll, describe, expect, it } from '@jest/globals';
import { SpanStatusCode } from '@opentelemetry/api';
import { Queue } from 'bullmq';
import { produce, startWorker, type WorkerProcess } from './support/processes.js';
import { uniqueQueueName } from './support/queues.js';
import { type OwnRedis, startOwnRedis } from './support/redis-server.js';

// `npm run soak` runs this with RESTART_JOBS=5000.
const JOBS = Number(process.env.RESTART_JOBS ?? 500);

describe('Redis restarts in the middle of a run', () => {
  let redis: OwnRedis | undefined;
  let worker: WorkerProcess | undefined;

  afterAll(async () => {
    await worker?.kill();
    await redis?.stop();
  });

  it(`every one of ${JOBS} traced jobs completes, every started span ends, no unhandled rejection`, async () => {
    // Append-only with fsync on every write: a SIGKILL loses nothing, so what is tested is the worker, not Redis.
    redis = await startOwnRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
    const queueName = uniqueQueueName('restart');
    const env = { REDIS_URL: redis.url, QUEUE_NAME: queueName };
    worker = await startWorker({ ...env, CONCURRENCY: '10' });
    const jobs = await produce(env, [{ name: 'sleep', data: { ms: 10 }, count: JOBS }]);

    const activeLines = () => worker!.output.filter((line) => line.startsWith('active ')).length;
    await worker.waitForLine(() => activeLines() >= JOBS / 5, 120_000);
    await redis.kill();
    const activeWhenKilled = activeLines();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await redis.restart();

    const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      const deadline = Date.now() + 240_000;
      while ((await queue.getCompletedCount()) < JOBS) {
        if (Date.now() > deadline) throw new Error(`${await queue.getCompletedCount()} of ${JOBS} completed: ${JSON.stringify(await queue.getJobCounts())}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(await queue.getJobCounts('failed', 'active', 'wait', 'delayed')).toEqual({ failed: 0, active: 0, wait: 0, delayed: 0 });
    } finally {
      await queue.close();
    }
    const report = await worker.stop();
    const completedIds = new Set(report.tasks.filter((task) => task.status === SpanStatusCode.UNSET).map((task) => task.jobId));
    expect(jobs.filter((job) => !completedIds.has(job.id))).toEqual([]);
    expect(report.started).toBe(report.ended);
    expect(report.unhandled).toEqual([]);
    console.log(
      `redis restart: ${JOBS} jobs, killed after ${activeWhenKilled} attempts had started; ` +
        `${report.tasks.length} task spans (${report.tasks.filter((task) => task.status === SpanStatusCode.ERROR).length} ERROR), ` +
        `spans started ${report.started}, ended ${report.ended}, unhandled rejections ${report.unhandled.length}`,
    );
  }, 300_000);
});
