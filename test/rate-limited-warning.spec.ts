import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { Job } from 'bullmq';
import { RateLimitedWarning } from '../lib/logging/rate-limited-warning.js';
import { StoredContextProblems } from '../lib/logging/stored-context-problems.js';
import { ContextualTaskSpan, TraceTask } from '../lib/index.js';
import { startApp } from './support/app.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { RecordingLogger } from './support/recording-logger.js';
import { setupTracing, spansNamed, waitForSpans } from './support/tracing.js';

/** A RateLimitedWarning whose windows end when the test says so, not when a clock does. */
function limitedWarning() {
  const written: string[] = [];
  const pending: Array<() => void> = [];
  const warning = new RateLimitedWarning(
    (message) => written.push(message),
    (key, count, intervalMs, firstReason) => `${count} more on ${key} in ${intervalMs} ms; first: ${firstReason}`,
    { intervalMs: 1000, schedule: (callback) => pending.push(callback) },
  );
  const endWindow = () => pending.splice(0).forEach((callback) => callback());
  return { warning, written, endWindow, pending };
}

describe('RateLimitedWarning', () => {
  it('writes the first warning per key in full, then one summary per interval with the count and the first reason', () => {
    const { warning, written, endWindow } = limitedWarning();
    warning.warn('email', 'job 1: bad traceparent', 'bad traceparent');
    warning.warn('email', 'job 2: not JSON', 'not JSON');
    warning.warn('email', 'job 3: bad traceparent', 'bad traceparent');
    warning.warn('reports', 'job 9: empty', 'empty');
    expect(written).toEqual(['job 1: bad traceparent', 'job 9: empty']);

    endWindow();
    expect(written.slice(2)).toEqual(['2 more on email in 1000 ms; first: not JSON']);

    // Still flooding: the next interval gives one more summary, never a line per warning.
    for (let job = 4; job < 104; job += 1) warning.warn('email', `job ${job}: empty`, 'empty');
    expect(written).toHaveLength(3);
    endWindow();
    expect(written.slice(3)).toEqual(['100 more on email in 1000 ms; first: empty']);
  });

  it('starts over with a full warning after a quiet interval', () => {
    const { warning, written, endWindow, pending } = limitedWarning();
    warning.warn('email', 'job 1: empty', 'empty');
    endWindow(); // nothing suppressed: no summary, and the key is forgotten
    expect(written).toEqual(['job 1: empty']);
    expect(pending).toHaveLength(0);
    warning.warn('email', 'job 2: not JSON', 'not JSON');
    expect(written).toEqual(['job 1: empty', 'job 2: not JSON']);
  });

  it('never throws, even when the logger does', () => {
    const warning = new RateLimitedWarning(
      () => {
        throw new Error('logger down');
      },
      () => 'summary',
      { schedule: () => {} },
    );
    expect(() => warning.warn('email', 'message', 'reason')).not.toThrow();
  });
});

describe('StoredContextProblems', () => {
  it('warns about broken contexts and notes missing ones at debug, each summarized per queue and interval', () => {
    const lines: string[] = [];
    const pending: Array<() => void> = [];
    const problems = new StoredContextProblems(
      { warn: (message) => lines.push(`WARN ${message}`), debug: (message) => lines.push(`DEBUG ${message}`) },
      { intervalMs: 60_000, schedule: (callback) => pending.push(callback) },
    );
    const job = (id: string, queueName = 'email') => ({ id, queueName }) as Job;
    problems.report(job('1'), 'telemetry metadata is not JSON');
    problems.report(job('2'), 'telemetry metadata is empty');
    problems.report(job('3'), 'telemetry metadata is not JSON');
    problems.report(job('4'), 'no trace context is stored on the job', true);
    problems.report(job('5'), 'no trace context is stored on the job', true);
    pending.splice(0).forEach((callback) => callback());
    expect(lines).toEqual([
      'WARN Job 1 of queue "email" runs under a new root trace: telemetry metadata is not JSON',
      'DEBUG Job 4 of queue "email" runs under a new root trace: no trace context is stored on the job',
      'WARN 2 more jobs of queue "email" ran under a new root trace in the last 60 s; the first: telemetry metadata is empty',
      'DEBUG 1 more job of queue "email" ran under a new root trace in the last 60 s; the first: no trace context is stored on the job',
    ]);
  });
});

describe('stored-context warnings from the tracer, on real Redis', () => {
  let exporter: InMemorySpanExporter;
  let app: INestApplicationContext;
  const logger = new RecordingLogger();
  const queues = [uniqueQueueName('flood-a'), uniqueQueueName('flood-b')];
  const jobs: Job[] = [];

  beforeAll(async () => {
    exporter = setupTracing();
    const processors = queues.map((queueName) => {
      @Processor(queueName)
      @TraceTask(new ContextualTaskSpan())
      class FloodedProcessor extends WorkerHost {
        async process() {
          return 'ran';
        }
      }
      return FloodedProcessor;
    });
    app = await startApp({ logger, imports: queues.map((name) => BullModule.registerQueue({ name })), providers: processors });
    for (const queueName of queues) {
      const queue = queueOf(app, queueName);
      for (let index = 0; index < 5; index += 1) {
        jobs.push(await queue.add('bad', {}, { telemetry: { metadata: '{"traceparent": ' } }));
        jobs.push(await queue.add('untraced', {}));
      }
    }
    await waitForSpans(exporter, (spans) => queues.every((queueName) => spansNamed(spans, 'task', queueName).length === 10));
  });

  afterAll(async () => {
    await app.close();
  });

  it('runs every job, and warns once per queue however many bad contexts arrive', async () => {
    for (const job of jobs) expect(await finished(job)).toBe('ran');
    for (const queueName of queues) {
      const warnings = logger.warnings.filter((warning) => warning.includes(`of queue "${queueName}"`));
      expect(warnings).toEqual([expect.stringMatching(/runs under a new root trace: telemetry metadata is not JSON$/)]);
    }
  });

  it('notes jobs with no stored context at debug level, once per queue, never as a warning', () => {
    for (const queueName of queues) {
      const notes = logger.debugs.filter((note) => note.includes(`of queue "${queueName}"`));
      expect(notes).toEqual([expect.stringMatching(/runs under a new root trace: no trace context is stored on the job$/)]);
    }
    expect(logger.warnings.some((warning) => warning.includes('no trace context is stored'))).toBe(false);
  });
});
