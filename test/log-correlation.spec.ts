import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Job } from 'bullmq';
import {
  ContextualTaskSpan,
  currentTaskFields,
  DefaultTaskSpan,
  type MakeSpan,
  type ReadStoredContext,
  SpanLevel,
  type TaskLogFields,
  TaskLogger,
  type TaskSpan,
  TraceTask,
  TracedQueue,
} from '../lib/index.js';
import { startApp } from './support/app.js';
import { captureOutput } from './support/captured-output.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { inRequest, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();
const output = captureOutput();
const SECRET = 'payload-secret-8d2e';

/** What each attempt saw from currentTaskFields(), keyed by attempt. */
type SeenFields = Map<number, TaskLogFields>;

/** Logs in the task span, in a child span, then fails its first attempt. */
function defineEmailProcessor(queueName: string, makeSpan: MakeSpan, seen: SeenFields) {
  @Processor(queueName)
  @TraceTask(makeSpan)
  class EmailProcessor extends WorkerHost {
    private readonly logger = new Logger(EmailProcessor.name);

    async process(job: Job<{ to: string }>) {
      this.logger.log('Checking if dns configured');
      await trace.getTracer('test').startActiveSpan('dns lookup', async (span) => {
        this.logger.log('Looking up');
        span.end();
      });
      seen.set(job.attemptsMade + 1, currentTaskFields());
      if (job.attemptsMade === 0) throw new Error('DNS is not configured yet');
      this.logger.log('Email sent');
    }
  }
  return EmailProcessor;
}

async function runRetriedJob(makeSpan: MakeSpan, logger: TaskLogger) {
  const queueName = uniqueQueueName('correlated');
  const seen: SeenFields = new Map();
  const app = (state.app = await startApp({
    logger,
    imports: [BullModule.registerQueue({ name: queueName })],
    providers: [defineEmailProcessor(queueName, makeSpan, seen)],
  }));
  const job = await inRequest(() =>
    new TracedQueue(queueOf(app, queueName)).add('send', { to: SECRET }, { attempts: 2, backoff: { type: 'fixed', delay: 50 } }),
  );
  await finished(job);
  const spans = await waitForSpans(
    state.exporter,
    (all) => spansNamed(all, 'task', queueName).length === 2 && spansNamed(all, 'dns lookup').length === 2,
  );
  const [first, second] = spansNamed(spans, 'task', queueName).sort(
    (a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt),
  );
  const [send] = spansNamed(spans, `send ${queueName}`);
  const lookupOf = (task: ReadableSpan) => spans.find((span) => span.name === 'dns lookup' && span.parentSpanContext?.spanId === task.spanContext().spanId)!;
  expect(output.text()).not.toContain(SECRET);
  return { job, first, second, send, lookupOf, seen };
}

const ids = (span: ReadableSpan) => `trace_id=${span.spanContext().traceId} span_id=${span.spanContext().spanId} trace_flags=01`;

describe('log lines point at the span that wrote them', () => {
  it('ContextualTaskSpan: span_id is the active span, the producer span is upstream_span_id, per attempt', async () => {
    const { job, first, second, send, lookupOf, seen } = await runRetriedJob(new ContextualTaskSpan(), new TaskLogger({ colors: false }));
    const upstream = `upstream_span_id=${send.spanContext().spanId}`;
    const lines = output.lines();
    for (const [attempt, task] of [[1, first], [2, second]] as const) {
      const fields = `task_id=${job.id} attempt=${attempt}`;
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`Z  INFO task\\{${fields} ${ids(task)} ${upstream}\\}: EmailProcessor: Checking if dns configured$`)));
      // Inside a child span, the line carries the child's ids: a log-to-trace jump lands on it.
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`Z  INFO task\\{${fields} ${ids(lookupOf(task))} ${upstream}\\}: EmailProcessor: Looking up$`)));
    }
    expect(first.spanContext().spanId).not.toBe(second.spanContext().spanId);
    // The default failure hook writes Apalis's line for the failed attempt, with the task's fields.
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`Z ERROR task\\{task_id=${job.id} attempt=1 ${ids(first)} ${upstream}\\}: JobTracing: Failed in \\d+\\.\\d (ms|s): DNS is not configured yet$`),
      ),
    );
    // currentTaskFields() returns exactly the line's fields, typed.
    expect(seen.get(2)).toEqual({
      task_id: job.id,
      attempt: 2,
      trace_id: second.spanContext().traceId,
      span_id: second.spanContext().spanId,
      trace_flags: '01',
      upstream_span_id: send.spanContext().spanId,
    });
    expect(currentTaskFields()).toEqual({});
  });

  it('DefaultTaskSpan: lines carry the active trace_id and span_id, and nothing upstream', async () => {
    const { job, first, second, lookupOf } = await runRetriedJob(new DefaultTaskSpan(), new TaskLogger({ colors: false }));
    const lines = output.lines();
    for (const [attempt, task] of [[1, first], [2, second]] as const) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`Z  INFO task\\{task_id=${job.id} attempt=${attempt} ${ids(task)}\\}: EmailProcessor: Checking if dns configured$`)));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`Z  INFO task\\{task_id=${job.id} attempt=${attempt} ${ids(lookupOf(task))}\\}: EmailProcessor: Looking up$`)));
    }
    expect(output.text()).not.toContain('upstream_');
  });

  it('json: true keeps the task fields as JSON fields, for both strategies', async () => {
    const contextual = await runRetriedJob(new ContextualTaskSpan(), new TaskLogger({ json: true }));
    const records = output.lines().filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const upstream_span_id = contextual.send.spanContext().spanId;
    expect(records).toContainEqual({
      level: 'log',
      pid: process.pid,
      timestamp: expect.any(Number),
      message: 'Checking if dns configured',
      context: 'EmailProcessor',
      task_id: contextual.job.id,
      attempt: 1,
      trace_id: contextual.first.spanContext().traceId,
      span_id: contextual.first.spanContext().spanId,
      trace_flags: '01',
      upstream_span_id,
    });
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'log',
        message: 'Looking up',
        attempt: 2,
        span_id: contextual.lookupOf(contextual.second).spanContext().spanId,
        upstream_span_id,
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 'error',
        context: 'JobTracing',
        message: expect.stringMatching(/^Failed in \d+\.\d (ms|s): DNS is not configured yet$/),
        attempt: 1,
        span_id: contextual.first.spanContext().spanId,
      }),
    );
    await state.app!.close();
    state.app = undefined;
    state.exporter.reset();

    const plain = await runRetriedJob(new DefaultTaskSpan(), new TaskLogger({ json: true }));
    const plainRecords = output.lines().filter((line) => line.includes(`"task_id":"${plain.job.id}"`) && line.includes(plain.first.spanContext().traceId));
    expect(plainRecords.map((line) => JSON.parse(line))).toContainEqual({
      level: 'log',
      pid: process.pid,
      timestamp: expect.any(Number),
      message: 'Checking if dns configured',
      context: 'EmailProcessor',
      task_id: plain.job.id,
      attempt: 1,
      trace_id: plain.first.spanContext().traceId,
      span_id: plain.first.spanContext().spanId,
      trace_flags: '01',
    });
  });

  it('a strategy that starts a new trace and links the stored one: trace_id is the job\'s own trace, the stored one is upstream_trace_id', async () => {
    // The shape of a link-style propagation: a new root, a link to the stored span, the stored ids as fields.
    class LinkedTaskSpan implements MakeSpan {
      makeSpan(_job: Job, readStoredContext: ReadStoredContext): TaskSpan {
        const stored = readStoredContext();
        return {
          name: 'task',
          level: SpanLevel.INFO,
          links: stored ? [{ context: stored.toSpanContext() }] : [],
          fields: stored ? { trace_id: stored.traceId, span_id: stored.spanId, trace_flags: '01' } : {},
        };
      }
    }
    const { job, first, send, seen } = await runRetriedJob(new LinkedTaskSpan(), new TaskLogger({ colors: false }));
    expect(first.spanContext().traceId).not.toBe(send.spanContext().traceId);
    expect(first.links[0].context.spanId).toBe(send.spanContext().spanId);
    const upstream = `upstream_trace_id=${send.spanContext().traceId} upstream_span_id=${send.spanContext().spanId}`;
    expect(output.lines()).toContainEqual(
      expect.stringMatching(new RegExp(`Z  INFO task\\{task_id=${job.id} attempt=1 ${ids(first)} ${upstream}\\}: EmailProcessor: Checking if dns configured$`)),
    );
    expect(seen.get(1)).toMatchObject({
      trace_id: first.spanContext().traceId,
      upstream_trace_id: send.spanContext().traceId,
      upstream_span_id: send.spanContext().spanId,
    });
  });
});
