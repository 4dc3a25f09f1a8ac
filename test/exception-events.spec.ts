import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { logs, SpanStatusCode } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { DelayedError, type Job } from 'bullmq';
import { getTracedQueueToken, JobTracingModule, type JobTracingModuleOptions, type TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();
const logExporter = new InMemoryLogRecordExporter();
const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
beforeAll(() => {
  logs.setGlobalLoggerProvider(loggerProvider);
});
afterAll(async () => {
  logs.disable();
  await loggerProvider.shutdown();
});

const SECRET = 'card-4242-4242';

/** A processor that fails its first attempt, moves `delay-me` jobs with DelayedError once, and succeeds otherwise. */
async function failingApp(tracing: JobTracingModuleOptions) {
  const queueName = uniqueQueueName('exception-events');

  @Processor(queueName)
  class FlakyProcessor extends WorkerHost {
    async process(job: Job, token?: string) {
      if (job.name === 'delay-me' && !job.data.moved) {
        await job.updateData({ ...job.data, moved: true });
        await job.moveToDelayed(Date.now() + 10, token);
        throw new DelayedError();
      }
      if (job.attemptsMade === 0 && job.name !== 'delay-me') throw new TypeError(`boom for job ${job.id}`);
      return 'done';
    }
  }

  state.app = await startApp({
    tracing,
    imports: [BullModule.registerQueue({ name: queueName }), JobTracingModule.forFeature(queueName)],
    providers: [FlakyProcessor],
  });
  return { queueName, traced: state.app.get<TracedQueue>(getTracedQueueToken(queueName)) };
}

describe('messaging.process.exception log records (exceptionEvents)', () => {
  it('emits one WARN record per failed attempt, in the span’s context, with the exception and the task’s fields and no job data; none for a DelayedError', async () => {
    logExporter.reset();
    const { queueName, traced } = await failingApp({ exceptionEvents: true });
    const failing = await traced.add('flaky', { card: SECRET }, { attempts: 2, backoff: { type: 'fixed', delay: 10 } });
    const delayed = await traced.add('delay-me', { card: SECRET });
    await finished(failing);
    await finished(delayed);
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 4);

    const records = logExporter.getFinishedLogRecords();
    expect(records).toHaveLength(1);
    const [record] = records;
    const failedSpan = spansNamed(spans, 'task', queueName).find((span) => span.status.code === SpanStatusCode.ERROR)!;
    expect(failedSpan.attributes).toMatchObject({ task_id: failing.id, attempt: 1 });
    expect(record.eventName).toBe('messaging.process.exception');
    expect(record.severityNumber).toBe(13);
    expect(record.severityText).toBe('WARN');
    expect(record.spanContext?.traceId).toBe(failedSpan.spanContext().traceId);
    expect(record.spanContext?.spanId).toBe(failedSpan.spanContext().spanId);
    expect(record.instrumentationScope.name).toBe('nestjs-job-tracing');
    expect(record.attributes).toMatchObject({
      'exception.type': 'TypeError',
      'exception.message': `boom for job ${failing.id}`,
      task_id: failing.id,
      attempt: 1,
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': queueName,
      'messaging.message.id': failing.id,
    });
    expect(record.attributes['exception.stacktrace']).toEqual(expect.stringContaining(`TypeError: boom for job ${failing.id}`));
    expect(JSON.stringify(record.attributes)).not.toContain(SECRET);
    // The delayed job's moved attempt had no failure: no record, and its span is not an error.
    const moved = spansNamed(spans, 'task', queueName).find((span) => span.attributes.task_id === delayed.id && span.attributes['messaging.bullmq.job.moved_to'] === 'delayed');
    expect(moved?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('emits nothing unless asked for', async () => {
    logExporter.reset();
    const { queueName, traced } = await failingApp({});
    await finished(await traced.add('flaky', {}, { attempts: 2 }));
    await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 2);
    expect(logExporter.getFinishedLogRecords()).toEqual([]);
  });
});
