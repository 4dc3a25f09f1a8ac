import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SpanStatusCode } from '@opentelemetry/api';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { produce, startWorker, type WorkerProcess, type WorkerReport } from './support/processes.js';
import { uniqueQueueName } from './support/queues.js';
import { startOwnRedisCluster } from './support/redis-server.js';

// BullMQ's Lua scripts touch several keys of one queue at once; on a cluster they must hash
// to one slot, which a hash-tagged prefix ensures (see docs/redis-cluster.md).
const PREFIX = '{jobs}';

describe('on a 3-master Redis Cluster, with a hash-tagged prefix', () => {
  let cluster: Awaited<ReturnType<typeof startOwnRedisCluster>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    cluster = await startOwnRedisCluster(3);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await cluster?.stop();
  });

  const env = (queueName: string) => ({ REDIS_CLUSTER: cluster.nodes, QUEUE_NAME: queueName, QUEUE_PREFIX: PREFIX });

  /** Polls the cluster until `count` jobs of the queue completed. */
  async function waitForCompleted(queueName: string, count: number, timeoutMs: number): Promise<Queue> {
    const connection = new Cluster(cluster.nodes.split(',').map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })));
    const queue = new Queue(queueName, { connection, prefix: PREFIX });
    const deadline = Date.now() + timeoutMs;
    while ((await queue.getCompletedCount()) < count) {
      if (Date.now() > deadline) throw new Error(`${await queue.getCompletedCount()} of ${count} jobs completed`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return queue;
  }

  it('keeps trace continuity across processes, retries a job and runs a bad-context job under a new root', async () => {
    const queueName = uniqueQueueName('cluster');
    const worker = await startWorker({ ...env(queueName), EXIT_AFTER: '4' });
    workers.push(worker);
    const jobs = await produce(env(queueName), [
      { name: 'ok' },
      { name: 'fail-once', opts: { attempts: 2 } },
      { name: 'bad-context', plain: true, opts: { telemetry: { metadata: '{"traceparent":"00-nope"}' } } },
    ]);
    const report = await worker.exited();
    const queue = await waitForCompleted(queueName, 3, 30_000);
    try {
      const [ok, retried, bad] = jobs;
      const tasksOf = (id: string) => report.tasks.filter((task) => task.jobId === id).sort((a, b) => a.attempt - b.attempt);

      expect(tasksOf(ok.id)).toEqual([
        expect.objectContaining({ attempt: 1, traceId: ok.traceId, parentSpanId: ok.sendSpanId, status: SpanStatusCode.UNSET }),
      ]);
      expect(tasksOf(retried.id)).toEqual([
        expect.objectContaining({ attempt: 1, traceId: retried.traceId, status: SpanStatusCode.ERROR, errorType: 'Error' }),
        expect.objectContaining({ attempt: 2, traceId: retried.traceId, status: SpanStatusCode.UNSET }),
      ]);
      expect((await queue.getJob(retried.id))!.attemptsMade).toBe(2);
      const [badTask] = tasksOf(bad.id);
      expect(badTask.parentSpanId).toBeUndefined();
      expect(jobs.map((job) => job.traceId)).not.toContain(badTask.traceId);
      expect((await queue.getJob(bad.id))!.returnvalue).toBe(`ran in ${report.pid}`);
      expect(report.started).toBe(report.ended);
      expect(report.unhandled).toEqual([]);
      // A cluster is several hosts, and which one served a command is not known: no server.address, on spans or metrics.
      expect(report.tasks.map((task) => task.serverAddress)).toEqual(report.tasks.map(() => undefined));
      expect(report.metricServerAddresses).toEqual([null]);
    } finally {
      await queue.close();
      (queue.opts.connection as Cluster).disconnect();
    }
  }, 90_000);

  it('4 worker processes share a queue: 2,000 jobs, one task span per attempt, each in its producer’s trace', async () => {
    const queueName = uniqueQueueName('cluster-scale');
    const JOBS = 2_000;
    const started = await Promise.all(Array.from({ length: 4 }, () => startWorker({ ...env(queueName), CONCURRENCY: '10' })));
    workers.push(...started);
    const jobs = await produce(env(queueName), [{ name: 'ok', count: JOBS }]);
    const queue = await waitForCompleted(queueName, JOBS, 120_000);
    await queue.close();
    (queue.opts.connection as Cluster).disconnect();
    const reports: WorkerReport[] = await Promise.all(started.map((worker) => worker.stop()));

    const tasks = reports.flatMap((report) => report.tasks);
    expect(tasks).toHaveLength(JOBS);
    const producedById = new Map(jobs.map((job) => [job.id, job]));
    expect(new Set(tasks.map((task) => task.jobId)).size).toBe(JOBS);
    for (const task of tasks) {
      const job = producedById.get(task.jobId)!;
      expect({ traceId: task.traceId, parentSpanId: task.parentSpanId, attempt: task.attempt }).toEqual({
        traceId: job.traceId,
        parentSpanId: job.sendSpanId,
        attempt: 1,
      });
    }
    // Each process ran some, and ended every span it started.
    expect(reports.filter((report) => report.tasks.length > 0).length).toBeGreaterThanOrEqual(2);
    for (const report of reports) {
      expect(report.started).toBe(report.ended);
      expect(report.unhandled).toEqual([]);
    }
    console.log(`cluster: ${JOBS} jobs over 4 workers: ${reports.map((report) => report.tasks.length).join(' / ')} task spans; spans started ${reports.reduce((n, r) => n + r.started, 0)}, ended ${reports.reduce((n, r) => n + r.ended, 0)}`);
  }, 240_000);
});
