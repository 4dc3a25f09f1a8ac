import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Job } from 'bullmq';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ContextualTaskSpan, TraceTask } from '../lib/index.js';
import { startApp } from './support/app.js';
import { queueOf, uniqueQueueName } from './support/queues.js';
import { setupTracing, spansNamed, waitForSpans } from './support/tracing.js';

interface ExportedSpan {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  links: Array<{ spanId: string; messageId?: string }>;
}

interface ProducerOutput {
  pid: number;
  jobIds: string[];
  spans: ExportedSpan[];
}

const PRODUCER = fileURLToPath(new URL('./fixtures/lifecycle-producer.mjs', import.meta.url));

/** Runs the producer fixture in its own Node process, against the built package. */
async function produceInAnotherProcess(mode: 'link' | 'scheduler' | 'flow', env: Record<string, string>): Promise<ProducerOutput> {
  const { stdout } = await promisify(execFile)(process.execPath, [PRODUCER], {
    env: { ...process.env, NODE_OPTIONS: '', MODE: mode, ...env },
    timeout: 20_000,
  });
  const output = JSON.parse(stdout) as ProducerOutput;
  expect(output.pid).not.toBe(process.pid);
  return output;
}

const linkedSpanIds = (span: ReadableSpan) => span.links.map((link) => `${link.context.traceId}/${link.context.spanId}`);

describe('job lifecycle across processes: producer in one OS process, worker in another', () => {
  let exporter: InMemorySpanExporter;
  let app: INestApplicationContext;
  const queueName = uniqueQueueName('lifecycle');

  @Processor(queueName)
  @TraceTask(new ContextualTaskSpan())
  class LifecycleProcessor extends WorkerHost {
    async process(job: Job) {
      return job.name;
    }
  }

  beforeAll(async () => {
    exporter = setupTracing();
    app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [LifecycleProcessor] });
  });

  afterAll(async () => {
    await app.close();
  });

  const taskOf = (spans: ReadableSpan[], jobId: string) =>
    spansNamed(spans, 'task', queueName).find((span) => span.attributes.task_id === jobId);

  it("link: the job's task starts a new trace, linked to the producer's span, keeping the stored fields", async () => {
    const producer = await produceInAnotherProcess('link', { QUEUE_NAME: queueName });
    const send = producer.spans.find((span) => span.name === `send ${queueName}`)!;
    expect(send.kind).toBe(SpanKind.PRODUCER);

    const spans = await waitForSpans(exporter, (all) => taskOf(all, producer.jobIds[0]) !== undefined);
    const task = taskOf(spans, producer.jobIds[0])!;
    expect(task.parentSpanContext).toBeUndefined();
    expect(task.spanContext().traceId).not.toBe(send.traceId);
    expect(linkedSpanIds(task)).toEqual([`${send.traceId}/${send.spanId}`]);
    expect(task.attributes).toMatchObject({ trace_id: send.traceId, span_id: send.spanId, trace_flags: '01' });
  });

  it('a job scheduler: every run is its own trace, linked to the span that created the scheduler', async () => {
    const schedulerId = uniqueQueueName('digest');
    try {
      const producer = await produceInAnotherProcess('scheduler', { QUEUE_NAME: queueName, SCHEDULER_ID: schedulerId });
      const upsert = producer.spans.find((span) => span.attributes['messaging.operation.name'] === 'upsertJobScheduler')!;
      const request = producer.spans.find((span) => span.name === 'POST /work')!;
      expect(upsert.kind).toBe(SpanKind.PRODUCER);
      expect(upsert.parentSpanId).toBe(request.spanId);
      expect(upsert.attributes['messaging.bullmq.job_scheduler.id']).toBe(schedulerId);

      const runsOf = (all: ReadableSpan[]) =>
        spansNamed(all, 'task', queueName).filter((span) => span.attributes['messaging.bullmq.job_scheduler.id'] === schedulerId);
      const runs = runsOf(await waitForSpans(exporter, (all) => runsOf(all).length >= 3, 30_000)).slice(0, 3);

      const traceIds = new Set(runs.map((run) => run.spanContext().traceId));
      expect(traceIds.size).toBe(3);
      expect(traceIds.has(upsert.traceId)).toBe(false);
      for (const run of runs) {
        expect(run.parentSpanContext).toBeUndefined(); // a child of neither the creator nor another run
        expect(linkedSpanIds(run)).toEqual([`${upsert.traceId}/${upsert.spanId}`]);
        expect(run.attributes).toMatchObject({ trace_id: upsert.traceId, span_id: upsert.spanId });
      }
      expect(new Set(runs.map((run) => run.attributes.task_id)).size).toBe(3);
    } finally {
      await queueOf(app, queueName).removeJobScheduler(schedulerId);
    }
  });

  it("a flow: a create span per node, grandchild and node without opts included; every node's task is a child of its own create span", async () => {
    const producer = await produceInAnotherProcess('flow', { QUEUE_NAME: queueName });
    const request = producer.spans.find((span) => span.name === 'POST /work')!;
    const sends = producer.spans.filter((span) => span.name.startsWith('send'));
    expect(sends).toHaveLength(1);
    const [send] = sends;
    expect(send.name).toBe(`send ${queueName}`);
    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(send.parentSpanId).toBe(request.spanId);
    expect(send.attributes).toMatchObject({ 'messaging.operation.name': 'addFlow', 'messaging.batch.message_count': 4 });
    expect(producer.jobIds).toHaveLength(4);
    const creates = producer.spans.filter((span) => span.name === `create ${queueName}`);
    expect(creates).toHaveLength(4);
    const createOf = new Map(creates.map((create) => [create.attributes['messaging.message.id'], create]));
    expect(send.links).toEqual(producer.jobIds.map((id) => ({ spanId: createOf.get(id)!.spanId, messageId: id })));

    const spans = await waitForSpans(exporter, (all) => producer.jobIds.every((id) => taskOf(all, id) !== undefined), 20_000);
    for (const jobId of producer.jobIds) {
      const create = createOf.get(jobId)!;
      expect(create.kind).toBe(SpanKind.PRODUCER);
      expect(create.parentSpanId).toBe(request.spanId);
      const task = taskOf(spans, jobId)!;
      expect(task.spanContext().traceId).toBe(request.traceId);
      expect(task.parentSpanContext?.spanId).toBe(create.spanId);
      expect(linkedSpanIds(task)).toEqual([`${create.traceId}/${create.spanId}`]);
    }
  });
});
