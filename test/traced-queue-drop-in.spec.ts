import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { Job, JobNode } from 'bullmq';
import { getTracedFlowProducerToken, getTracedQueueToken, JobTracingModule, TracedFlowProducer, TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { uniqueQueueName } from './support/queues.js';
import { inRequest, setupTracing } from './support/tracing.js';

interface Email {
  to: string;
}

// Compiled by `npm run typecheck`, never called: Queue's members keep BullMQ's types, the traced ones keep theirs.
export function typesOnly(emails: TracedQueue<Email, string>, flows: TracedFlowProducer): void {
  const job: Promise<Job<Email, string> | undefined> = emails.getJob('1');
  const removed: Promise<boolean> = emails.removeJobScheduler('id');
  const counts: Promise<Record<string, number>> = emails.getJobCounts('waiting', 'failed');
  const paused: Promise<void> = emails.pause();
  const node: Promise<JobNode> = flows.getFlow({ id: '1', queueName: 'q' });
  // @ts-expect-error add is TracedQueue's own, typed by its DataType
  void emails.add('send', { to: 1 });
  void [job, removed, counts, paused, node];
}

describe('TracedQueue and TracedFlowProducer as drop-ins for what they wrap', () => {
  let exporter: InMemorySpanExporter;
  let app: INestApplicationContext;
  let emails: TracedQueue<Email, string>;
  let flows: TracedFlowProducer;
  const queueName = uniqueQueueName('drop-in');
  const flowName = uniqueQueueName('drop-in-flows');

  beforeAll(async () => {
    exporter = setupTracing();
    app = await startApp({
      imports: [
        BullModule.registerQueue({ name: queueName }),
        BullModule.registerFlowProducer({ name: flowName }),
        // The lazily resolved provider of forFeature, as @InjectTracedQueue gives it.
        JobTracingModule.forFeature({ queues: [queueName], flowProducers: [flowName] }),
      ],
    });
    emails = app.get(getTracedQueueToken(queueName));
    flows = app.get(getTracedFlowProducerToken(flowName));
  });

  afterAll(async () => {
    await emails.obliterate({ force: true });
    await app.close();
  });

  it("answers every other Queue member with the queue's own, and traces only what enqueues", async () => {
    exporter.reset();
    await inRequest(async () => {
      await emails.upsertJobScheduler('yearly', { pattern: '0 0 1 1 *' }, { name: 'digest' });
      expect(await emails.getJobSchedulersCount()).toBe(1);
      expect(await emails.removeJobScheduler('yearly')).toBe(true);
      expect(await emails.getJobSchedulersCount()).toBe(0);

      const added = await emails.add('send', { to: 'someone@example.com' });
      const job = await emails.getJob(added.id!);
      expect(job?.data).toEqual({ to: 'someone@example.com' });
      expect(await emails.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 0 });

      await emails.pause();
      expect(await emails.isPaused()).toBe(true);
      await emails.resume();
      expect(await emails.isPaused()).toBe(false);
    });
    // Fields and methods alike are the queue's.
    expect(emails.qualifiedName).toBe(emails.queue.qualifiedName);
    expect(emails.opts).toBe(emails.queue.opts);
    expect(emails.name).toBe(queueName);

    const names = exporter.getFinishedSpans().map((span) => span.name);
    expect(names.filter((name) => name !== 'request')).toEqual([`send ${queueName}`, `send ${queueName}`]);

    await emails.obliterate({ force: true });
    expect(await emails.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 0 });
  });

  it("answers FlowProducer's other members with the flow producer's own", async () => {
    const added = await flows.add({ name: 'parent', queueName, children: [{ name: 'child', queueName }] });
    const flow = await flows.getFlow({ id: added.job.id!, queueName });
    expect(flow.job.name).toBe('parent');
    expect(flow.children?.map((child) => child.job.name)).toEqual(['child']);
    expect(flows.keys).toBe(flows.flowProducer.keys);
  });

  it('is not taken for a promise, nor for a Nest lifecycle hook, and keeps its own Object members', () => {
    const traced = emails as unknown as Record<string, unknown>;
    expect(traced.then).toBeUndefined();
    expect(traced.onModuleInit).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(emails, 'getJob')).toBe(false);
    expect(emails.toString()).toBe('[object Object]');
  });
});
