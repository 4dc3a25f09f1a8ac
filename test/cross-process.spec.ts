import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ContextualTaskSpan, InjectTracedQueue, JobTracingModule, TraceTask, TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { uniqueQueueName } from './support/queues.js';
import { parentSpanId, setupTracing, spansNamed, waitForSpans } from './support/tracing.js';

interface ProducerOutput {
  pid: number;
  jobId: string;
  spans: Array<{ name: string; kind: SpanKind; traceId: string; spanId: string; parentSpanId?: string }>;
}

const PRODUCER = fileURLToPath(new URL('./fixtures/producer.mjs', import.meta.url));

/** Runs the producer fixture in its own Node process, against the built package. */
async function produceInAnotherProcess(queueName: string): Promise<ProducerOutput> {
  const { stdout } = await promisify(execFile)(process.execPath, [PRODUCER], {
    env: { ...process.env, NODE_OPTIONS: '', QUEUE_NAME: queueName },
    timeout: 20_000,
  });
  return JSON.parse(stdout) as ProducerOutput;
}

describe('trace continuity from a producer process to a worker process', () => {
  let exporter: InMemorySpanExporter;
  let app: INestApplicationContext;
  const emailQueue = uniqueQueueName('email');
  const auditQueue = uniqueQueueName('audit');

  @Processor(emailQueue)
  @TraceTask(new ContextualTaskSpan())
  class EmailProcessor extends WorkerHost {
    constructor(@InjectTracedQueue(auditQueue) private readonly audit: TracedQueue) {
      super();
    }
    async process() {
      await this.audit.add('record', { event: 'email-sent' });
    }
  }

  @Processor(auditQueue)
  @TraceTask(new ContextualTaskSpan())
  class AuditProcessor extends WorkerHost {
    async process() {}
  }

  beforeAll(async () => {
    exporter = setupTracing();
    app = await startApp({
      imports: [
        BullModule.registerQueue({ name: emailQueue }, { name: auditQueue }),
        JobTracingModule.forFeature(auditQueue),
      ],
      providers: [EmailProcessor, AuditProcessor],
    });
  });

  afterAll(async () => {
    await app.close();
  });

  it('keeps one trace from the request, through both queues, to the nested job', async () => {
    const producer = await produceInAnotherProcess(emailQueue);
    expect(producer.pid).not.toBe(process.pid);

    const request = producer.spans.find((span) => span.name === 'POST /emails')!;
    const send = producer.spans.find((span) => span.name === `send ${emailQueue}`)!;
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.parentSpanId).toBe(request.spanId);

    const spans = await waitForSpans(exporter, (all) => spansNamed(all, 'task', auditQueue).length === 1);
    const [emailTask] = spansNamed(spans, 'task', emailQueue);
    const [auditSend] = spansNamed(spans, `send ${auditQueue}`);
    const [auditTask] = spansNamed(spans, 'task', auditQueue);

    for (const span of [send, emailTask.spanContext(), auditSend.spanContext(), auditTask.spanContext()]) {
      expect(span.traceId).toBe(request.traceId);
    }
    expect(emailTask.kind).toBe(SpanKind.CONSUMER);
    expect(parentSpanId(emailTask)).toBe(send.spanId);
    expect(emailTask.parentSpanContext?.isRemote).toBe(true);
    expect(emailTask.attributes).toMatchObject({
      task_id: producer.jobId,
      attempt: 1,
      trace_id: request.traceId,
      span_id: send.spanId,
      trace_flags: '01',
      'messaging.destination.name': emailQueue,
    });
    expect(auditSend.kind).toBe(SpanKind.PRODUCER);
    expect(parentSpanId(auditSend)).toBe(emailTask.spanContext().spanId);
    expect(auditTask.kind).toBe(SpanKind.CONSUMER);
    expect(parentSpanId(auditTask)).toBe(auditSend.spanContext().spanId);
    expect(auditTask.attributes).toMatchObject({ attempt: 1, span_id: auditSend.spanContext().spanId });
  });
});
