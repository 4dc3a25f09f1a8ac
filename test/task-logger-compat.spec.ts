import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { inspect } from 'node:util';
import { TaskLogger } from '../lib/index.js';
import { startApp } from './support/app.js';
import { captureOutput } from './support/captured-output.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();
const output = captureOutput();

/**
 * Makes `logger` look, while the job runs, like a TaskLogger on @nestjs/common 11.x, 12.0 or 12.1:
 * their ConsoleLogger has neither `redact` nor `resolveMessage`, which arrived later in 12.x.
 * (Only while the job runs: outside a job the installed 12.5 ConsoleLogger, which calls them, prints.)
 */
const MISSING_ON_OLDER_NEST = ['redact', 'resolveMessage'];

async function runLoggingJob(logger: TaskLogger, log: (logger: Logger, job: Job) => void, { olderNest = false } = {}) {
  const queueName = uniqueQueueName('compat');
  @Processor(queueName)
  class LoggingProcessor extends WorkerHost {
    private readonly logger = new Logger(LoggingProcessor.name);

    async process(job: Job) {
      log(this.logger, job);
      return 'done';
    }
  }
  const app = (state.app = await startApp({
    logger,
    imports: [BullModule.registerQueue({ name: queueName })],
    providers: [LoggingProcessor],
  }));
  if (olderNest) {
    for (const method of MISSING_ON_OLDER_NEST) Object.defineProperty(logger, method, { value: undefined, configurable: true });
  }
  let job: Job;
  let result: unknown;
  try {
    job = await queueOf(app, queueName).add('job', {});
    result = await finished(job);
  } finally {
    for (const method of MISSING_ON_OLDER_NEST) delete (logger as unknown as Record<string, unknown>)[method];
  }
  const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
  return { job, result, task: spansNamed(spans, 'task', queueName)[0] };
}

describe('TaskLogger never fails a job', () => {
  it('on a ConsoleLogger without redact and resolveMessage: the job completes and every line is written', async () => {
    const logger = new TaskLogger({ colors: false });
    const missing: unknown[] = [];
    const { job, result, task } = await runLoggingJob(
      logger,
      (log) => {
        missing.push((logger as unknown as { redact?: unknown }).redact, (logger as unknown as { resolveMessage?: unknown }).resolveMessage);
        log.log('plain message');
        log.log(() => 'lazy message');
        log.warn({ retryable: true });
      },
      { olderNest: true },
    );
    expect(missing).toEqual([undefined, undefined]);
    expect(result).toBe('done');
    const prefix = `task{task_id=${job.id} attempt=1 trace_id=${task.spanContext().traceId} span_id=${task.spanContext().spanId} trace_flags=01}: LoggingProcessor: `;
    const lines = output.lines();
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`Z  INFO ${escape(prefix)}plain message$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`Z  INFO ${escape(prefix)}lazy message$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`Z  WARN ${escape(prefix)}\\{ retryable: true \\}$`)));
    expect(task.status.code).not.toBe(2);
  });

  it('when a message cannot be formatted: the job completes and a plain fallback line is written instead', async () => {
    const unprintable = {
      [inspect.custom]() {
        throw new Error('inspect exploded');
      },
    };
    const { result } = await runLoggingJob(new TaskLogger({ colors: false }), (log) => {
      log.log(() => {
        throw new Error('lazy message exploded');
      });
      log.warn(unprintable);
      log.log('after the failures');
    });
    expect(result).toBe('done');
    const lines = output.lines();
    expect(lines).toContainEqual(
      expect.stringMatching(/Z INFO LoggingProcessor: \[lazy message\] \(TaskLogger could not format this line: lazy message exploded\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/Z WARN LoggingProcessor: \[object Object\] \(TaskLogger could not format this line: inspect exploded\)$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/ INFO task\{.*\}: LoggingProcessor: after the failures$/));
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
