import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SpanStatusCode } from '@opentelemetry/api';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { JobTracingModule } from '../lib/index.js';
import { startPrivateRedis, type PrivateRedis } from './support/private-redis.js';
import { uniqueQueueName } from './support/queues.js';
import { RecordingLogger } from './support/recording-logger.js';
import { setupTracing, spansNamed, waitForSpans } from './support/tracing.js';

// A hash-tagged prefix, as on Redis Cluster: every key of a queue hashes on "jobs".
const PREFIX = '{jobs}';
const LOG_LINE = /^\[nestjs-job-tracing\] attempt (\d) failed; trace_id=([0-9a-f]{32}) span_id=([0-9a-f]{16}) trace_flags=01$/;

describe('retried attempts, on a Redis of the test\'s own watched with MONITOR', () => {
  let exporter: InMemorySpanExporter;
  let redis: PrivateRedis;
  let app: INestApplicationContext;
  let queue: Queue;
  let client: Redis;
  const logger = new RecordingLogger();
  const queueName = uniqueQueueName('retried');

  @Processor(queueName)
  class FlakyProcessor extends WorkerHost {
    async process(job: Job<{ failures: number }>) {
      // Writes (scripts included) wait until the pause ends: the failed attempt's log line cannot be written in time.
      if (job.name === 'pauses-redis' && job.attemptsMade === 0) await client.call('CLIENT', 'PAUSE', '3500', 'WRITE');
      if (job.attemptsMade < job.data.failures) throw new Error(`attempt ${job.attemptsMade + 1} fails`);
      return 'done';
    }
  }

  beforeAll(async () => {
    exporter = setupTracing();
    redis = await startPrivateRedis();
    const connection = { host: '127.0.0.1', port: redis.port };
    const moduleRef = Test.createTestingModule({
      imports: [
        JobTracingModule.forRoot(),
        BullModule.forRoot({ connection, prefix: PREFIX }),
        BullModule.registerQueue({ name: queueName }),
      ],
      providers: [FlakyProcessor],
    });
    moduleRef.setLogger(logger);
    app = await (await moduleRef.compile()).init();
    queue = new Queue(queueName, { connection, prefix: PREFIX });
    client = new Redis(connection);
  });

  afterAll(async () => {
    await app?.close();
    await queue?.close();
    client?.disconnect();
    await redis?.stop();
  });

  const logsKey = (job: Job) => `${PREFIX}:${queueName}:${job.id}:logs`;
  /** Commands that touched the job's log list: the only key the library reads or writes. */
  const commandsOnLogs = (job: Job) => redis.commands.filter((command) => command.includes(logsKey(job)));
  const tasksOf = (spans: ReadableSpan[], job: Job) =>
    spansNamed(spans, 'task', queueName)
      .filter((span) => span.attributes.task_id === job.id)
      .sort((a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt));

  it('links attempt N to attempt N-1, counts retries, and spends 2 Redis commands per retry and none on a first-try success', async () => {
    const firstTry = await queue.add('ok', { failures: 0 }, { attempts: 3 });
    const retried = await queue.add('flaky', { failures: 2 }, { attempts: 3 });
    const spans = await waitForSpans(exporter, (all) => tasksOf(all, retried).length === 3 && tasksOf(all, firstTry).length === 1);

    const [first, second, third] = tasksOf(spans, retried);
    expect(first.status.code).toBe(SpanStatusCode.ERROR);
    expect(second.status.code).toBe(SpanStatusCode.ERROR);
    expect(third.status.code).toBe(SpanStatusCode.UNSET);
    expect(first.links).toEqual([]);
    expect(first.attributes['messaging.bullmq.job.attempts_made']).toBeUndefined();
    for (const [span, previous, attemptsMade] of [[second, first, 1], [third, second, 2]] as const) {
      expect(span.attributes.attempt).toBe(attemptsMade + 1);
      expect(span.attributes['messaging.bullmq.job.attempts_made']).toBe(attemptsMade);
      expect(span.links).toHaveLength(1);
      expect(span.links[0].context.traceId).toBe(previous.spanContext().traceId);
      expect(span.links[0].context.spanId).toBe(previous.spanContext().spanId);
      expect(span.links[0].attributes).toEqual({ 'messaging.bullmq.job.attempt': attemptsMade });
    }
    const [onlyAttempt] = tasksOf(spans, firstTry);
    expect(onlyAttempt.links).toEqual([]);

    // Measured: the first-try job never touched Redis for tracing; each retry cost one write (on the
    // failed attempt) and one read (on the next one).
    expect(commandsOnLogs(firstTry)).toEqual([]);
    // BullMQ's addLog script: EVALSHA, or EVAL the first time this Redis sees the script.
    const onLogs = commandsOnLogs(retried).map(([name]) => name.replace(/^evalsha$/, 'eval'));
    expect(onLogs.sort()).toEqual(['eval', 'eval', 'lrange', 'lrange']);
    expect(redis.commands.filter(([name, key]) => name === 'lrange' && key === logsKey(retried))).toHaveLength(2);

    // The lines a human sees in Bull Board: which attempt failed and the ids to look up.
    const { logs } = await queue.getJobLogs(retried.id!);
    expect(logs).toHaveLength(2);
    logs.forEach((line, index) => {
      const [, attempt, traceId, spanId] = LOG_LINE.exec(line)!;
      const failed = [first, second][index];
      expect(Number(attempt)).toBe(index + 1);
      expect(traceId).toBe(failed.spanContext().traceId);
      expect(spanId).toBe(failed.spanContext().spanId);
    });
    expect(logger.warnings).toEqual([]);

    // Cluster-safe: the only key touched carries the queue's hash tag, as the job's own key does.
    expect(logsKey(retried).startsWith(`${PREFIX}:`)).toBe(true);

    // Nothing is left behind once BullMQ removes the job.
    expect(await client.exists(logsKey(retried))).toBe(1);
    await queue.remove(retried.id!);
    expect(await client.exists(logsKey(retried))).toBe(0);
    expect(await client.keys(`${PREFIX}:${queueName}:${retried.id}*`)).toEqual([]);
  });

  it('leaves nothing behind for a job BullMQ removes on completion, and writes nothing for a last or only attempt', async () => {
    const removed = await queue.add('flaky', { failures: 1 }, { attempts: 2, removeOnComplete: true });
    const lastFails = await queue.add('flaky', { failures: 5 }, { attempts: 1 });
    await waitForSpans(exporter, (all) => tasksOf(all, removed).length === 2 && tasksOf(all, lastFails).length === 1);
    const deadline = Date.now() + 10_000;
    while ((await queue.getJobState(removed.id!)) !== 'unknown' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await client.exists(logsKey(removed))).toBe(0);
    expect(commandsOnLogs(lastFails)).toEqual([]);
    expect(await client.exists(logsKey(lastFails))).toBe(0);
  });

  it('does not link to a line of another attempt', async () => {
    const job = await queue.add('flaky', { failures: 1 }, { attempts: 2, backoff: { type: 'fixed', delay: 1500 } });
    await waitUntilState(queue, job, 'delayed');
    // A stale line, say from attempt 3 of an earlier run of the same job id, is newer than attempt 1's.
    await job.log(`[nestjs-job-tracing] attempt 3 failed; trace_id=${'a'.repeat(32)} span_id=${'b'.repeat(16)} trace_flags=01`);
    const spans = await waitForSpans(exporter, (all) => tasksOf(all, job).length === 2);
    const [first, second] = tasksOf(spans, job);
    expect(second.links.map((link) => link.context.spanId)).toEqual([first.spanContext().spanId]);
  });

  it('gives up a log line not written within 2 s, with a warning, and leaves the failure and the retry unchanged', async () => {
    const job = await queue.add('pauses-redis', { failures: 1 }, { attempts: 2 });
    const spans = await waitForSpans(exporter, (all) => tasksOf(all, job).length === 2, 20_000);
    const [first, second] = tasksOf(spans, job);
    expect(first.status).toEqual({ code: SpanStatusCode.ERROR, message: 'attempt 1 fails' });
    expect(second.status.code).toBe(SpanStatusCode.UNSET);
    await waitUntilState(queue, job, 'completed');
    const warnings = logger.warnings.filter((warning) => warning.includes(`Job ${job.id} of queue "${queueName}"`));
    expect(warnings).toEqual([expect.stringContaining('the failed attempt could not be logged')]);
  }, 30_000);
});

export async function waitUntilState(queue: Queue, job: Job, state: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await queue.getJobState(job.id!)) !== state) {
    if (Date.now() > deadline) throw new Error(`job ${job.id} never reached state ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
