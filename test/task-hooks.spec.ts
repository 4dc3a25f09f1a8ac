import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { type JobTracingModuleOptions, TaskLogger } from '../lib/index.js';
import { startApp } from './support/app.js';
import { captureOutput } from './support/captured-output.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();
const output = captureOutput();
const SECRET = 'payload-secret-51aa';

/** Fails the first attempt with an error that names nothing from the job, then succeeds. */
async function runFlakyJob(tracing: (queueName: string) => JobTracingModuleOptions) {
  const queueName = uniqueQueueName('hooks');
  @Processor(queueName)
  class FlakyProcessor extends WorkerHost {
    async process(job: Job<{ to: string }>) {
      if (job.attemptsMade === 0) throw new Error('DNS is not configured yet');
      return 'sent';
    }
  }
  const app = (state.app = await startApp({
    tracing: tracing(queueName),
    logger: new TaskLogger({ colors: false }),
    imports: [BullModule.registerQueue({ name: queueName })],
    providers: [FlakyProcessor],
  }));
  const job = await queueOf(app, queueName).add('send', { to: SECRET }, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
  expect(await finished(job)).toBe('sent');
  const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 2);
  const [first, second] = spansNamed(spans, 'task', queueName).sort(
    (a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt),
  );
  const lines = output.lines().filter((line) => line.includes(`task{task_id=${job.id} `) && line.includes(': JobTracing: '));
  expect(output.text()).not.toContain(SECRET);
  return { job, first, second, lines };
}

const eventNames = (span: { events: Array<{ name: string }> }) => span.events.map((event) => event.name);

describe('default task hooks', () => {
  it('at the default INFO filter: one ERROR line and a task.failed event per failed attempt, nothing for start or success', async () => {
    const { job, first, second, lines } = await runFlakyJob(() => ({}));
    const { traceId, spanId } = first.spanContext();
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(`Z ERROR task\\{task_id=${job.id} attempt=1 trace_id=${traceId} span_id=${spanId} trace_flags=01\\}: JobTracing: Failed in \\d+\\.\\d (ms|s): DNS is not configured yet$`),
      ),
    ]);
    expect(eventNames(first)).toEqual(['exception', 'task.failed']);
    expect(first.events[1].attributes?.latency_ms).toEqual(expect.any(Number));
    expect(eventNames(second)).toEqual([]);
  });

  it('where the filter lets DEBUG through for the queue: task.start and task.done events, and their DEBUG lines', async () => {
    const { job, first, second, lines } = await runFlakyJob((queueName) => ({ level: `info,${queueName}=debug` }));
    const prefix = (attempt: number) => `task{task_id=${job.id} attempt=${attempt} `;
    expect(lines).toEqual([
      expect.stringMatching(/Z DEBUG task\{.*\}: JobTracing: Started$/),
      expect.stringMatching(/Z ERROR task\{.*\}: JobTracing: Failed in \d+\.\d (ms|s): DNS is not configured yet$/),
      expect.stringMatching(/Z DEBUG task\{.*\}: JobTracing: Started$/),
      expect.stringMatching(/Z DEBUG task\{.*\}: JobTracing: Done in \d+\.\d (ms|s)$/),
    ]);
    expect(lines.slice(0, 2).every((line) => line.includes(prefix(1)) && line.includes(`span_id=${first.spanContext().spanId} `))).toBe(true);
    expect(lines.slice(2).every((line) => line.includes(prefix(2)) && line.includes(`span_id=${second.spanContext().spanId} `))).toBe(true);
    expect(eventNames(first)).toEqual(['task.start', 'exception', 'task.failed']);
    expect(eventNames(second)).toEqual(['task.start', 'task.done']);
  });

  it('logAttempts: false keeps the events and writes no lines', async () => {
    const { first, second, lines } = await runFlakyJob((queueName) => ({ level: `info,${queueName}=debug`, logAttempts: false }));
    expect(lines).toEqual([]);
    expect(eventNames(first)).toEqual(['task.start', 'exception', 'task.failed']);
    expect(eventNames(second)).toEqual(['task.start', 'task.done']);
  });

  it('hooks passed in the options replace the defaults, and run inside the task span', async () => {
    const seen: Array<[string, string | undefined]> = [];
    const { first, second, lines } = await runFlakyJob((queueName) => ({
      level: `info,${queueName}=debug`,
      onFailure: (_job, error, _latencyMs, span) => {
        seen.push([(error as Error).message, span.spanContext().spanId]);
      },
    }));
    expect(seen).toEqual([['DNS is not configured yet', first.spanContext().spanId]]);
    // Only the failure hook was replaced: the start and success defaults still run.
    expect(lines.some((line) => line.includes('Failed in'))).toBe(false);
    expect(lines.filter((line) => line.endsWith('JobTracing: Started'))).toHaveLength(2);
    expect(eventNames(first)).toEqual(['task.start', 'exception']);
    expect(eventNames(second)).toEqual(['task.start', 'task.done']);
  });
});
