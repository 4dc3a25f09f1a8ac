import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { BullModule } from '@nestjs/bullmq';
import { OtlpReceiver, type ReceivedSpan } from '../sample/src/otlp-receiver.js';
import { TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { inRequest, setupTracing, spansNamed } from './support/tracing.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function receivedSpans(receiver: OtlpReceiver, predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(receiver.spans)) {
    if (Date.now() > deadline) throw new Error(`spans received from the child: ${receiver.spans.map((span) => span.name).join(', ') || 'none'}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return receiver.spans;
}

describe('a sandboxed processor wrapped with traceSandboxedProcessor', () => {
  let exporter: InMemorySpanExporter;
  const receiver = new OtlpReceiver();
  let endpoint: string;

  beforeAll(async () => {
    exporter = setupTracing();
    endpoint = await receiver.start();
  });

  afterAll(async () => {
    await receiver.stop();
  });

  const SANDBOXES: Array<[string, (endpoint: string) => object]> = [
    [
      'a child process',
      (endpoint) => ({
        workerForkOptions: {
          execArgv: ['--import', fixture('sandbox-tracing.mjs')],
          env: { ...process.env, NODE_OPTIONS: '', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
        },
      }),
    ],
    [
      'a worker thread',
      (endpoint) => ({
        useWorkerThreads: true,
        workerThreadsOptions: {
          execArgv: ['--import', fixture('sandbox-tracing.mjs')],
          env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
        },
      }),
    ],
  ];

  it.each(SANDBOXES)('gives each attempt in %s its span, continuing the producer\'s trace, exported by the sandbox\'s own SDK', async (sandbox, sandboxOptions) => {
    const queueName = uniqueQueueName('sandboxed');
    // As a Nest app registers it: BullMQ runs the file in a sandbox of its own, with that sandbox's SDK preloaded.
    const app = await startApp({
      imports: [
        BullModule.registerQueue({
          name: queueName,
          processors: [
            { path: fixture('sandboxed-processor.mjs'), ...sandboxOptions(endpoint) },
          ],
        }),
      ],
    });
    const queue = queueOf(app, queueName);
    try {
      const traced = new TracedQueue(queue);
      const job = await inRequest(() => traced.add('double', { n: 21 }));
      const retried = await inRequest(() => traced.add('retried', { n: 1, failFirst: true }, { attempts: 2 }));
      const result = (await finished(job, 20_000)) as { pid: number; doubled: number };
      expect(result.doubled).toBe(42);
      if (sandbox === 'a child process') expect(result.pid).not.toBe(process.pid);
      await finished(retried, 20_000);

      const spans = await receivedSpans(
        receiver,
        (all) => all.filter((span) => span.name === 'sandboxed task' && span.attributes['messaging.destination.name'] === queueName).length === 3,
      );
      const producerSpans = exporter.getFinishedSpans();
      const tasksOf = (id: string) =>
        spans.filter((span) => span.name === 'sandboxed task' && span.attributes['messaging.destination.name'] === queueName && span.attributes.task_id === id).sort((a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt));

      const [task] = tasksOf(job.id!);
      const send = spansNamed(producerSpans, `send ${queueName}`).find((span) => span.spanContext().traceId === task.traceId)!;
      expect(send).toBeDefined();
      expect(task.service).toBe('sandboxed-worker');
      expect(task.kind).toBe('CONSUMER');
      expect(task.parentSpanId).toBe(send.spanContext().spanId);
      expect(task.attributes).toMatchObject({
        task_id: job.id,
        attempt: 1,
        'messaging.system': 'bullmq',
        'messaging.operation.type': 'process',
        'messaging.destination.name': queueName,
        'messaging.message.id': job.id,
        trace_id: send.spanContext().traceId,
        span_id: send.spanContext().spanId,
        'worker.pid': result.pid,
      });
      expect(task.attributes['messaging.bullmq.job.wait_ms']).toEqual(expect.any(Number));
      // At the default INFO filter the start and done events are not recorded, as in-process.
      expect(task.events.map((event) => event.name)).toEqual([]);

      const [failed, succeeded] = tasksOf(retried.id!);
      expect(failed.status).toEqual({ code: 'ERROR', message: 'first attempt fails in the child' });
      expect(failed.attributes['error.type']).toBe('TypeError');
      expect(failed.events.map((event) => event.name)).toEqual(['exception', 'task.failed']);
      expect(succeeded.attributes).toMatchObject({ attempt: 2, 'messaging.bullmq.job.attempts_made': 1 });
      // Linked through the Redis client the processor file gave the wrapper.
      // Each attempt also links to its creation context, its parent (messaging conventions v1.44).
      expect(succeeded.links).toEqual([
        { traceId: failed.traceId, spanId: failed.parentSpanId, attributes: {} },
        { traceId: failed.traceId, spanId: failed.spanId, attributes: { 'messaging.bullmq.job.attempt': 1 } },
      ]);
      expect(task.links).toEqual([{ traceId: send.spanContext().traceId, spanId: send.spanContext().spanId, attributes: {} }]);
      expect(succeeded.status.code).toBe('UNSET');
      // The failed attempt's line reached the job's log through BullMQ's IPC.
      const { logs } = await queue.getJobLogs(retried.id!);
      expect(logs).toEqual([`[nestjs-job-tracing] attempt 1 failed; trace_id=${failed.traceId} span_id=${failed.spanId} trace_flags=01`]);
      // The parent process adds no span of its own around the child's.
      expect(spansNamed(exporter.getFinishedSpans(), 'task', queueName)).toEqual([]);
    } finally {
      await app.close();
    }
  }, 60_000);

  it('is importable from nestjs-job-tracing/sandbox without loading any @nestjs package', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', fixture('record-imports.mjs'), '--input-type=module', '-e', "await import('nestjs-job-tracing/sandbox')"],
      { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const resolved = JSON.parse(stdout) as string[];
    expect(resolved.some((url) => url.endsWith('/dist/sandbox/index.js'))).toBe(true);
    expect(resolved.filter((url) => url.includes('@nestjs'))).toEqual([]);
  });
});
