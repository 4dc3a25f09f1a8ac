import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OtlpReceiver, type ReceivedSpan } from '../sample/src/otlp-receiver.js';
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

  it('never exports or prints the email addresses it was given', () => {
    const exported = JSON.stringify(run.spans);
    for (const address of ['ada@example.com', 'grace@flaky.example']) {
      expect(exported).not.toContain(address);
      expect(run.logLines.join('\n')).not.toContain(address);
    }
  });
});
