import { describe, expect, it } from '@jest/globals';
import { BullModule } from '@nestjs/bullmq';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { type Job, Queue, Worker } from 'bullmq';
import { ContextualTaskSpan, DefaultTaskSpan, TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, redisConnection, uniqueQueueName } from './support/queues.js';
import { inRequest, parentSpanId, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

describe('processors given to BullModule.registerQueue', () => {
  it('traces inline callbacks with the module default strategy, per attempt, linked across retries', async () => {
    const queueName = uniqueQueueName('inline');
    const seen: Array<string | undefined> = [];
    const inline = async (job: Job) => {
      seen.push(trace.getActiveSpan()?.spanContext().spanId);
      if (job.attemptsMade === 0 && job.name === 'flaky') throw new Error('first attempt fails');
      return job.data.n * 2;
    };

    state.app = await startApp({
      tracing: { makeSpan: new ContextualTaskSpan() },
      imports: [BullModule.registerQueue({ name: queueName, processors: [inline] })],
    });
    const queue = new TracedQueue(queueOf(state.app, queueName));
    const job = await inRequest(() => queue.add('double', { n: 21 }));
    const flaky = await queue.add('flaky', { n: 1 }, { attempts: 2 });
    expect(await finished(job)).toBe(42);
    expect(await finished(flaky)).toBe(2);

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 3);
    const task = spansNamed(spans, 'task', queueName).find((span) => span.attributes.task_id === job.id)!;
    const send = spansNamed(spans, `send ${queueName}`).find((span) => span.spanContext().traceId === task.spanContext().traceId)!;
    expect(send).toBeDefined();
    expect(parentSpanId(task)).toBe(send.spanContext().spanId);
    expect(task.attributes).toMatchObject({ task_id: job.id, attempt: 1, 'messaging.destination.name': queueName });
    expect(seen).toContain(task.spanContext().spanId); // the callback ran inside its span

    const [first, second] = spansNamed(spans, 'task', queueName)
      .filter((span) => span.attributes.task_id === flaky.id)
      .sort((a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt));
    expect(first.status.code).toBe(SpanStatusCode.ERROR);
    // Its creation context (the send span, its parent) first, then the previous attempt.
    expect(second.links.map((link) => link.context.spanId)).toEqual([parentSpanId(second), first.spanContext().spanId]);
  });

  it('takes a strategy per queue, or none, from the processors option, and traces { callback } processors', async () => {
    const named = uniqueQueueName('named');
    const skipped = uniqueQueueName('skipped');
    const advanced = uniqueQueueName('advanced');
    const unregistered = uniqueQueueName('plain-worker');

    state.app = await startApp({
      tracing: { processors: { [named]: new DefaultTaskSpan({ name: 'inline task' }), [skipped]: false } },
      imports: [
        BullModule.registerQueue(
          { name: named, processors: [async () => 'named'] },
          { name: skipped, processors: [async () => 'skipped'] },
          { name: advanced, processors: [{ callback: async () => 'advanced', concurrency: 2 }] },
        ),
      ],
    });
    // A Worker the application builds by hand is not an inline processor of BullModule's.
    const plainWorker = new Worker(unregistered, async () => 'plain', { connection: redisConnection() });
    const plainQueue = new Queue(unregistered, { connection: redisConnection() });
    try {
      const jobs = await Promise.all([
        queueOf(state.app, named).add('job', {}),
        queueOf(state.app, skipped).add('job', {}),
        queueOf(state.app, advanced).add('job', {}),
      ]);
      const plainJob = await plainQueue.add('job', {});
      expect(await Promise.all(jobs.map((job) => finished(job)))).toEqual(['named', 'skipped', 'advanced']);
      expect(await finished(plainJob)).toBe('plain');

      const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'inline task', named).length === 1 && spansNamed(all, 'task', advanced).length === 1);
      expect(spansNamed(spans, 'inline task', named)[0].attributes.task_id).toBe(jobs[0].id);
      expect(spansNamed(spans, 'task', advanced)[0].attributes.task_id).toBe(jobs[2].id);
      expect(spans.filter((span) => span.attributes['messaging.destination.name'] === skipped)).toEqual([]);
      expect(spans.filter((span) => span.attributes['messaging.destination.name'] === unregistered)).toEqual([]);
    } finally {
      await plainWorker.close();
      await plainQueue.close();
    }
  });
});
