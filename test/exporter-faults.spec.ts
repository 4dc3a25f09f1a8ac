import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { OtlpReceiver } from '../sample/src/otlp-receiver.js';
import { freePort } from '../sample/src/redis.js';
import { produce, startWorker, type WorkerProcess, type WorkerReport } from './support/processes.js';
import { uniqueQueueName } from './support/queues.js';

// `npm run soak` runs this with more jobs and interleaved rounds and prints the throughput ratios; no timing is asserted.
const JOBS = Number(process.env.EXPORTER_JOBS ?? 1_000);
const ROUNDS = Number(process.env.EXPORTER_ROUNDS ?? 1);
const MB = 1024 * 1024;

/** An OTLP endpoint that answers every request after 5 s. */
async function startSlowCollector(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 5_000));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/v1/traces`, server };
}

describe('the exporter is down or slow', () => {
  const receiver = new OtlpReceiver();
  let healthyUrl: string;
  let slow: Awaited<ReturnType<typeof startSlowCollector>>;
  let closedUrl: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    healthyUrl = `${await receiver.start()}/v1/traces`;
    slow = await startSlowCollector();
    // Nothing listens there: the port was free a moment ago.
    closedUrl = `http://127.0.0.1:${await freePort()}/v1/traces`;
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await receiver.stop();
    slow.server.closeAllConnections();
    await new Promise((resolve) => slow.server.close(resolve));
  });

  /** Adds JOBS jobs first, then lets one worker process run them all, exporting to `url`. */
  async function runAgainst(url: string, label: string): Promise<WorkerReport> {
    const queueName = uniqueQueueName(`exporter-${label}`);
    const env = { REDIS_URL: process.env.REDIS_URL!, QUEUE_NAME: queueName };
    await produce(env, [{ name: 'ok', count: JOBS }]);
    const worker = await startWorker({ ...env, EXPORTER: 'otlp', OTLP_URL: url, CONCURRENCY: '20', EXIT_AFTER: String(JOBS) });
    workers.push(worker);
    const report = await worker.exited();
    const throughput = Math.round((JOBS / report.busyMs) * 1000);
    console.log(
      `exporter ${label}: ${JOBS} jobs, ${throughput} jobs/s, spans started ${report.started} ended ${report.ended}, ` +
        `peak RSS ${Math.round(report.peak.rss / MB)} MB, peak heap ${Math.round(report.peak.heapUsed / MB)} MB`,
    );
    return report;
  }

  it('healthy, down and slow: every job completes, every span ends, memory stays bounded', async () => {
    // Interleaved rounds, so the shared machine's load changes hit every mode alike.
    const rounds: Array<Record<'healthy' | 'down' | 'slow', WorkerReport>> = [];
    for (let round = 0; round < ROUNDS; round++) {
      rounds.push({
        healthy: await runAgainst(healthyUrl, 'healthy'),
        down: await runAgainst(closedUrl, 'down'),
        slow: await runAgainst(slow.url, 'slow'),
      });
    }
    const [{ healthy, down, slow: slowReport }] = rounds;

    expect(receiver.spans.filter((span) => span.name === 'task')).toHaveLength(JOBS * ROUNDS);
    for (const report of rounds.flatMap((round) => Object.values(round))) {
      expect(report.finishedJobs).toBe(JOBS);
      expect(report.started).toBe(report.ended);
      expect(report.unhandled).toEqual([]);
    }
    // The batch processor drops what it cannot queue (2,048 spans by default): an exporter that
    // is down or slow must not make the worker hold every span it cannot send.
    for (const report of [down, slowReport]) {
      expect(report.peak.heapUsed).toBeLessThan(healthy.peak.heapUsed + 64 * MB);
    }
    const median = (mode: 'healthy' | 'down' | 'slow') => {
      const sorted = rounds.map((round) => round[mode].busyMs).sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)];
    };
    const ratio = (mode: 'down' | 'slow') => (median('healthy') / median(mode)).toFixed(2);
    console.log(`exporter throughput relative to healthy (median of ${ROUNDS} rounds): down ${ratio('down')}, slow ${ratio('slow')}`);
  }, 300_000);

  it('graceful shutdown: closing the app while jobs run ends their spans, and they reach the exporter', async () => {
    const queueName = uniqueQueueName('graceful');
    const env = { REDIS_URL: process.env.REDIS_URL!, QUEUE_NAME: queueName };
    const worker = await startWorker({ ...env, EXPORTER: 'otlp', OTLP_URL: healthyUrl, CONCURRENCY: '5' });
    workers.push(worker);
    const jobs = await produce(env, [{ name: 'sleep', data: { ms: 1_500 }, count: 8 }]);
    const activeIds = () => worker.output.filter((line) => line.startsWith('active ')).map((line) => line.slice('active '.length));
    await worker.waitForLine(() => activeIds().length >= 5);
    const report = await worker.stop(); // SIGTERM while 5 jobs sleep
    const ran = activeIds();
    expect(ran.length).toBeGreaterThanOrEqual(5);
    expect(ran.length).toBeLessThan(jobs.length);
    const exported = receiver.spans.filter((span) => span.name === 'task' && span.attributes['messaging.destination.name'] === queueName);
    expect(exported.map((span) => String(span.attributes.task_id)).sort()).toEqual([...ran].sort());
    for (const span of exported) {
      expect(span.status.code).toBe('UNSET');
      expect(span.traceId).toBe(jobs.find((job) => job.id === span.attributes.task_id)!.traceId);
    }
    expect(report.started).toBe(report.ended);
    expect(report.unhandled).toEqual([]);
  }, 60_000);
});
