import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OtlpReceiver, type ReceivedSpan } from '../sample/src/otlp-receiver.js';
import { summarizeQueues } from '../sample/src/metrics-summary.js';
import { runSample, type SampleRun, tasksOf } from '../sample/src/run.js';

// The compiled sample, which `npm test` builds first: the app runs as its own process, as a user runs it.
const APP_DIR = new URL('../dist-sample/', import.meta.url);

describe('the sample app, end to end over HTTP and OTLP', () => {
  const receiver = new OtlpReceiver();
  let run: SampleRun;

  beforeAll(async () => {
    run = await runSample({
      redisUrl: process.env.REDIS_URL!,
      receiver,
      otlpEndpoint: await receiver.start(),
      appDir: APP_DIR,
    });
  }, 60_000);

  afterAll(async () => {
    await receiver.stop();
  });

  const child = (spans: ReceivedSpan[], parent: ReceivedSpan, name: string) =>
    spans.filter((span) => span.parentSpanId === parent.spanId && span.name === name);

  it('keeps one trace from the HTTP request through the producer and both queues', () => {
    const { spans } = run;
    const emailTasks = tasksOf(spans, 'email').filter((task) => task.status.code !== 'ERROR');
    expect(emailTasks).toHaveLength(2);
    for (const emailTask of emailTasks) {
      const trace = spans.filter((span) => span.traceId === emailTask.traceId);
      const server = trace.find((span) => span.kind === 'SERVER')!;
      expect(server.attributes['http.request.method'] ?? server.attributes['http.method']).toBe('POST');
      const [send] = child(trace, server, 'send email');
      expect(send.kind).toBe('PRODUCER');
      expect(emailTask.parentSpanId).toBe(send.spanId);
      expect(emailTask.kind).toBe('CONSUMER');
      expect(emailTask.attributes).toMatchObject({ trace_id: server.traceId, span_id: send.spanId, trace_flags: '01' });
      // nestjs-otel's @Span inside the job nests under the task span.
      expect(child(trace, emailTask, 'DnsService.isConfigured')).toHaveLength(1);
      const [sendReceipt] = child(trace, emailTask, 'send receipts');
      const [receiptTask] = child(trace, sendReceipt, 'task');
      expect(receiptTask.attributes).toMatchObject({ attempt: 1, queue: 'receipts', payload_size: expect.any(Number) });
    }
  });

  it('shows the flaky address failing its first attempt and succeeding on the second', () => {
    const attempts = tasksOf(run.spans, 'email').filter((task) =>
      tasksOf(run.spans, 'email').some((other) => other !== task && other.attributes.task_id === task.attributes.task_id),
    );
    const [first, second] = attempts.sort((a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt));
    expect(first.attributes.attempt).toBe(1);
    expect(first.status).toEqual({ code: 'ERROR', message: 'DNS is not configured yet' });
    expect(first.events.map((event) => event.name)).toEqual(expect.arrayContaining(['exception', 'task.failed']));
    expect(second.attributes.attempt).toBe(2);
    expect(second.status.code).toBe('UNSET');
    expect(second.parentSpanId).toBe(first.parentSpanId);
  });

  it('records the correlated log lines as events on the task spans, and prints them', () => {
    for (const task of tasksOf(run.spans, 'email')) {
      expect(task.events).toContainEqual({
        name: 'log',
        attributes: { message: 'Checking if dns configured', level: 'INFO', target: 'EmailProcessor' },
      });
    }
    const [receipt] = tasksOf(run.spans, 'receipts');
    expect(receipt.events).toContainEqual({
      name: 'log',
      attributes: { message: 'Receipt stored', level: 'INFO', target: 'ReceiptProcessor' },
    });
    const firstEmail = tasksOf(run.spans, 'email')[0];
    expect(run.logLines).toContainEqual(
      expect.stringContaining(
        `INFO task{task_id=${firstEmail.attributes.task_id} attempt=${firstEmail.attributes.attempt} ` +
          `trace_id=${firstEmail.traceId} span_id=${firstEmail.spanId} trace_flags=01 upstream_span_id=${firstEmail.parentSpanId}}`,
      ),
    );
  });

  it("puts every task of the order's flow, grandchild included, under its own create span in the request, all linked from one send", () => {
    const orderTasks = tasksOf(run.spans, 'orders');
    expect(orderTasks).toHaveLength(4);
    const server = run.spans.find((span) => span.kind === 'SERVER' && span.traceId === orderTasks[0].traceId)!;
    const [send] = child(run.spans, server, 'send orders');
    expect(send.kind).toBe('CLIENT');
    const creates = child(run.spans, server, 'create orders');
    expect(creates.map((create) => create.kind)).toEqual(['PRODUCER', 'PRODUCER', 'PRODUCER', 'PRODUCER']);
    expect(send.links.map((link) => link.spanId).sort()).toEqual(creates.map((create) => create.spanId).sort());
    expect(orderTasks.map((task) => task.parentSpanId).sort()).toEqual(creates.map((create) => create.spanId).sort());
  });

  it('runs the periodic digest as one trace per run, each linked to the span that created its scheduler', () => {
    const [upsert] = run.spans.filter((span) => span.name === 'send digest');
    expect(upsert.attributes['messaging.operation.name']).toBe('upsertJobScheduler');
    const runs = tasksOf(run.spans, 'digest');
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(runs.map((task) => task.traceId)).size).toBe(runs.length);
    for (const task of runs) {
      expect(task.parentSpanId).toBeUndefined();
      expect(task.traceId).not.toBe(upsert.traceId);
      expect(task.links.map(({ traceId, spanId }) => ({ traceId, spanId }))).toEqual([{ traceId: upsert.traceId, spanId: upsert.spanId }]);
      expect(task.attributes['messaging.bullmq.job_scheduler.id']).toBe('periodic-digest');
    }
  });

  it('serves the job metrics on /metrics through the Prometheus exporter, with no metrics code in the app', () => {
    // nestjs-otel's host metrics on the same endpoint: one MeterProvider serves both.
    expect(run.metrics).toContain('# TYPE process_memory_usage gauge');
    // The sample's Redis is a single host: server.address and server.port come last.
    const redis = new URL(process.env.REDIS_URL!);
    const server = `server_address="${redis.hostname}",server_port="${redis.port || 6379}"`;
    for (const queue of ['email', 'receipts']) {
      const labels = `messaging_system="bullmq",messaging_destination_name="${queue}",messaging_operation_name="process",${server}`;
      expect(run.metrics).toContain(`messaging_process_duration_bucket{${labels},otel_scope_name="nestjs-job-tracing",le="0.005"}`);
      expect(run.metrics).toContain(`messaging_client_consumed_messages_total{${labels},otel_scope_name="nestjs-job-tracing"}`);
    }
    expect(run.metrics).toContain(
      'messaging_client_consumed_messages_total{messaging_system="bullmq",messaging_destination_name="email",' +
        `messaging_operation_name="process",${server},error_type="Error",otel_scope_name="nestjs-job-tracing"} 1`,
    );
    expect(run.metrics).toMatch(/^messaging_client_sent_messages_total\{[^}]*messaging_destination_name="receipts"[^}]*\} 2$/m);
    expect(run.metrics).toMatch(
      /^messaging_bullmq_queue_jobs\{[^}]*messaging_destination_name="email",messaging_bullmq_job_state="completed"[^}]*\} 2$/m,
    );
    // Two emails, the flaky one twice; each ends in one receipt; one flow of four jobs; the digest
    // runs as often as the scheduler fired before the run stopped.
    const summary = summarizeQueues(run.metrics);
    expect(summary.map(({ queue }) => queue)).toEqual(['digest', 'email', 'orders', 'receipts']);
    expect(summary).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ queue: 'email', attempts: 3, failed: 1, p95ProcessSeconds: expect.any(Number) }),
        expect.objectContaining({ queue: 'orders', attempts: 4, failed: 0 }),
        expect.objectContaining({ queue: 'receipts', attempts: 2, failed: 0, p95WaitSeconds: expect.any(Number) }),
      ]),
    );
  });

  it('never exports or prints the email addresses it was given', () => {
    const exported = JSON.stringify(run.spans);
    for (const address of ['ada@example.com', 'grace@flaky.example']) {
      expect(exported).not.toContain(address);
      expect(run.metrics).not.toContain(address);
      expect(run.logLines.join('\n')).not.toContain(address);
    }
  });
});
