import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { ContextualTaskSpan, getTracedQueueToken, JobTracingModule, TraceTask, type TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { uniqueQueueName } from './support/queues.js';
import { RecordingLogger } from './support/recording-logger.js';
import { inRequest, setupTracing, spansNamed, waitForSpans } from './support/tracing.js';

/** Keeps INFO lines too: the notice is one. */
class InfoRecordingLogger extends RecordingLogger {
  readonly infos: string[] = [];

  override log(...messages: unknown[]): void {
    this.infos.push(String(messages[0]));
  }
}

describe('a stored context that the strategy ignores', () => {
  let exporter: InMemorySpanExporter;
  let app: INestApplicationContext;
  const logger = new InfoRecordingLogger();
  const ignoring = uniqueQueueName('ignoring');
  const continuing = uniqueQueueName('continuing');
  const untraced = uniqueQueueName('untraced');

  @Processor(ignoring)
  class IgnoringProcessor extends WorkerHost {
    async process() {}
  }

  @Processor(untraced)
  class UntracedProducersProcessor extends WorkerHost {
    async process() {}
  }

  @Processor(continuing)
  @TraceTask(new ContextualTaskSpan())
  class ContinuingProcessor extends WorkerHost {
    async process() {}
  }

  beforeAll(async () => {
    exporter = setupTracing();
    app = await startApp({
      imports: [
        BullModule.registerQueue({ name: ignoring }, { name: continuing }, { name: untraced }),
        JobTracingModule.forFeature(ignoring, continuing, untraced),
      ],
      providers: [IgnoringProcessor, ContinuingProcessor, UntracedProducersProcessor],
      logger,
    });
  });

  afterAll(async () => {
    await app.close();
  });

  it('is noted once per queue at INFO, naming the strategy that would continue it; a continued one is not', async () => {
    await inRequest(async () => {
      for (const queueName of [ignoring, ignoring, ignoring, continuing]) {
        await app.get<TracedQueue>(getTracedQueueToken(queueName)).add('job', {});
      }
    });
    await waitForSpans(exporter, (spans) => spansNamed(spans, 'task').length === 4);

    const notices = logger.infos.filter((line) => line.includes('trace context'));
    expect(notices).toEqual([
      `Jobs of queue "${ignoring}" carry their producer's trace context, which DefaultTaskSpan does not continue: ` +
        'each attempt starts a new trace. To continue it, use ContextualTaskSpan: ' +
        'JobTracingModule.forRoot({ makeSpan: new ContextualTaskSpan() }) for every processor, ' +
        'or @TraceTask(new ContextualTaskSpan()) on this one.',
    ]);
    expect(logger.warnings).toEqual([]);
  });

  it('is not noted for jobs that carry no context', async () => {
    // BullMQ's own Queue, untraced: the jobs carry nothing to continue.
    const queue = app.get<TracedQueue>(getTracedQueueToken(untraced)).queue;
    await inRequest(() => queue.add('no-context', {}));
    await waitForSpans(exporter, (spans) => spansNamed(spans, 'task', untraced).length === 1);
    expect(logger.infos.filter((line) => line.includes(untraced))).toEqual([]);
  });
});
