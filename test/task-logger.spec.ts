import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { ContextualTaskSpan, TaskLogger, TraceTask, TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { inRequest, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();
const SECRET = 'payload-secret-4f1c';
let output: string[];

beforeEach(() => {
  output = [];
  const capture = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  jest.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterEach(() => {
  jest.restoreAllMocks();
});

function defineEmailProcessor(queueName: string) {
  @Processor(queueName)
  @TraceTask(new ContextualTaskSpan())
  class EmailProcessor extends WorkerHost {
    private readonly logger = new Logger(EmailProcessor.name);

    async process(job: Job<{ to: string }>) {
      this.logger.log('Checking if dns configured');
      this.logger.debug(`Recipient has ${job.data.to.length} characters`);
      this.logger.warn({ retryable: true });
    }
  }
  return EmailProcessor;
}

describe('TaskLogger', () => {
  it('writes task lines with the span fields inside a job, plain lines outside, and records events', async () => {
    const queueName = uniqueQueueName('email');
    const app = (state.app = await startApp({
      logger: new TaskLogger({ colors: false }),
      imports: [BullModule.registerQueue({ name: queueName })],
      providers: [defineEmailProcessor(queueName)],
    }));
    new Logger('Bootstrap').log('outside any job');
    const job = await inRequest(() => new TracedQueue(queueOf(app, queueName)).add('send', { to: SECRET }));
    await finished(job);
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const [task] = spansNamed(spans, 'task', queueName);
    const { traceId } = task.spanContext();
    const storedSpanId = task.parentSpanContext!.spanId;

    const lines = output.join('').split('\n');
    // span_id names the span that wrote the line (the task's); the producer's stored span is upstream_span_id.
    const taskPrefix = `task{task_id=${job.id} attempt=1 trace_id=${traceId} span_id=${task.spanContext().spanId} trace_flags=01 upstream_span_id=${storedSpanId}}: EmailProcessor: `;
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z  INFO /));
    expect(lines.filter((line) => line.endsWith(`  INFO ${taskPrefix}Checking if dns configured`))).toHaveLength(1);
    expect(lines.filter((line) => line.includes(` DEBUG ${taskPrefix}Recipient has 19 characters`))).toHaveLength(1);
    expect(lines.filter((line) => line.endsWith(`  WARN ${taskPrefix}{ retryable: true }`))).toHaveLength(1);
    const plain = lines.find((line) => line.includes('outside any job'))!;
    expect(plain).toMatch(/\[Nest\] \d+ .* LOG \[Bootstrap\] outside any job/);
    expect(plain).not.toContain('task{');
    expect(output.join('')).not.toContain(SECRET);

    const events = task.events.filter((event) => event.attributes?.target === 'EmailProcessor');
    // One fixed event name: the message is an attribute, so event names stay bounded.
    expect(events.map((event) => [event.name, event.attributes?.message, event.attributes?.level])).toEqual([
      ['log', 'Checking if dns configured', 'INFO'],
      ['log', 'Recipient has 19 characters', 'DEBUG'],
      ['log', '{ retryable: true }', 'WARN'],
    ]);
    expect(JSON.stringify(task.events)).not.toContain(SECRET);
  });

  it('honours Nest log levels, for the line and the span event alike', async () => {
    const queueName = uniqueQueueName('quiet-email');
    const app = (state.app = await startApp({
      logger: new TaskLogger({ colors: false, logLevels: ['warn', 'error'] }),
      imports: [BullModule.registerQueue({ name: queueName })],
      providers: [defineEmailProcessor(queueName)],
    }));
    await finished(await inRequest(() => new TracedQueue(queueOf(app, queueName)).add('send', { to: SECRET })));
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const [task] = spansNamed(spans, 'task', queueName);

    const text = output.join('');
    expect(text).not.toContain('Checking if dns configured');
    expect(text).toContain('  WARN task{');
    expect(task.events.filter((event) => event.attributes?.target === 'EmailProcessor')).toHaveLength(1);
  });

  it('takes trace_id and span_id from the active span when the strategy gave none, and applies the redact option', async () => {
    const queueName = uniqueQueueName('plain-email');
    @Processor(queueName)
    class PlainEmailProcessor extends WorkerHost {
      private readonly logger = new Logger(PlainEmailProcessor.name);

      async process(job: Job<{ to: string }>) {
        this.logger.warn({ to: job.data.to, retryable: true });
      }
    }
    const app = (state.app = await startApp({
      logger: new TaskLogger({ colors: false, redact: ['to'] }),
      imports: [BullModule.registerQueue({ name: queueName })],
      providers: [PlainEmailProcessor],
    }));
    const job = await new TracedQueue(queueOf(app, queueName)).add('send', { to: SECRET });
    await finished(job);
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const [task] = spansNamed(spans, 'task', queueName);

    const line = output.join('').split('\n').find((candidate) => candidate.includes('PlainEmailProcessor'));
    expect(line).toMatch(
      new RegExp(
        ` WARN task\\{task_id=${job.id} attempt=1 trace_id=${task.spanContext().traceId} span_id=${task.spanContext().spanId} trace_flags=01\\}: ` +
          `PlainEmailProcessor: \\{ to: '\\[REDACTED\\]', retryable: true \\}$`,
      ),
    );
    expect(output.join('')).not.toContain(SECRET);
    expect(JSON.stringify(task.events)).not.toContain(SECRET);
  });
});
