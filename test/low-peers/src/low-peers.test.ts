import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { BullModule, getQueueToken, Processor, WorkerHost } from '@nestjs/bullmq';
import { type INestApplicationContext, Injectable, Logger } from '@nestjs/common';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Job, Queue } from 'bullmq';
import {
  ContextualTaskSpan,
  getTracedQueueToken,
  InjectTracedQueue,
  JobTracingModule,
  TracedQueue,
  TraceTask,
} from 'nestjs-job-tracing';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { logs } from '@opentelemetry/api-logs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  captureStdout,
  deleteQueues,
  finalState,
  redisConnection,
  setupTracing,
  startApp,
  taskSpans,
  uniqueQueueName,
  waitFor,
} from './support.js';

// The lowest versions of every peer range, installed by run.mjs from package-lock.json.
describe('on the lowest claimed peers', () => {
  let exporter: InMemorySpanExporter;
  const apps: INestApplicationContext[] = [];

  before(() => {
    exporter = setupTracing();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    exporter.reset();
  });
  after(deleteQueues);

  it('runs the installed versions this suite claims to test', async () => {
    const versionOf = (name: string) =>
      (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string })
        .version;
    assert.deepEqual(
      ['@nestjs/common', '@nestjs/core', '@nestjs/bullmq', 'bullmq', '@opentelemetry/api', '@opentelemetry/api-logs'].map(versionOf),
      ['11.0.0', '11.0.0', '11.0.3', '5.25.0', '1.9.0', '0.203.0'],
    );
  });

  it('traces each attempt with DefaultTaskSpan, and TaskLogger writes inside the job (forRoot, retry)', async () => {
    const queueName = uniqueQueueName('default');

    @Processor(queueName)
    class FlakyProcessor extends WorkerHost {
      private readonly logger = new Logger(FlakyProcessor.name);

      async process(job: Job): Promise<string> {
        this.logger.log(`attempt ${job.attemptsMade + 1} of job ${job.id}`);
        if (job.attemptsMade === 0) throw new Error('first attempt fails');
        return 'done';
      }
    }

    const { output } = await captureStdout(async () => {
      const app = await startApp({
        imports: [
          JobTracingModule.forRoot(),
          BullModule.forRoot({ connection: redisConnection() }),
          BullModule.registerQueue({ name: queueName }),
        ],
        providers: [FlakyProcessor],
      });
      apps.push(app);
      const job = await app.get<Queue>(getQueueToken(queueName)).add('flaky', {}, { attempts: 2 });
      assert.equal(await finalState(queueName, job.id!), 'completed');
      await waitFor('two task spans', () => (taskSpans(exporter, queueName).length === 2 ? true : undefined));
    });

    const [first, second] = taskSpans(exporter, queueName).sort((a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt));
    assert.equal(first.name, 'task');
    assert.equal(first.kind, SpanKind.CONSUMER);
    assert.deepEqual([first.attributes.attempt, second.attributes.attempt], [1, 2]);
    assert.equal(first.status.code, SpanStatusCode.ERROR);
    assert.equal(first.attributes['error.type'], 'Error');
    assert.ok(first.events.some((event) => event.name === 'exception'));
    assert.notEqual(second.status.code, SpanStatusCode.ERROR);
    assert.equal(first.parentSpanContext, undefined, 'DefaultTaskSpan starts no upstream trace');
    const lines = output.replace(/\x1B\[[0-9;]*m/g, '');
    for (const attempt of [1, 2]) {
      assert.match(lines, new RegExp(`INFO task\\{task_id=\\d+ attempt=${attempt}[ }].*FlakyProcessor: attempt ${attempt} of job`));
    }
  });

  it('continues the trace from a TracedQueue in one application to a ContextualTaskSpan in another', async () => {
    const queueName = uniqueQueueName('contextual');

    @Injectable()
    class Producer {
      constructor(@InjectTracedQueue(queueName) readonly queue: TracedQueue) {}
    }

    @TraceTask(new ContextualTaskSpan())
    @Processor(queueName)
    class ContextualProcessor extends WorkerHost {
      async process(): Promise<string> {
        return 'done';
      }
    }

    const bull = [BullModule.forRoot({ connection: redisConnection() }), BullModule.registerQueue({ name: queueName })];
    const producerApp = await startApp({
      imports: [JobTracingModule.forRoot(), ...bull, JobTracingModule.forFeature(queueName)],
      providers: [Producer],
    });
    apps.push(producerApp);
    const workerApp = await startApp({ imports: [JobTracingModule.forRoot(), ...bull], providers: [ContextualProcessor] });
    apps.push(workerApp);
    assert.equal(producerApp.get(Producer).queue, producerApp.get(getTracedQueueToken(queueName)));

    const job = await trace.getTracer('test').startActiveSpan('request', async (request) => {
      try {
        return await producerApp.get(Producer).queue.add('job', {});
      } finally {
        request.end();
      }
    });
    assert.equal(await finalState(queueName, job.id!), 'completed');
    const [task] = await waitFor('the task span', () => {
      const spans = taskSpans(exporter, queueName);
      return spans.length ? spans : undefined;
    });
    const spans = exporter.getFinishedSpans();
    const request = spans.find((span) => span.name === 'request')!;
    const send = spans.find((span) => span.name === `send ${queueName}`)!;
    assert.equal(send.kind, SpanKind.PRODUCER);
    assert.equal(send.parentSpanContext?.spanId, request.spanContext().spanId);
    assert.equal(task.spanContext().traceId, request.spanContext().traceId);
    assert.equal(task.parentSpanContext?.spanId, send.spanContext().spanId);
    assert.equal(task.attributes.trace_id, request.spanContext().traceId);
  });

  it('addBulk: create spans and a CLIENT send whose links (added once BullMQ assigned the ids) carry the message ids', async () => {
    const queueName = uniqueQueueName('create-spans');
    const app = await startApp({
      imports: [
        JobTracingModule.forRoot(),
        BullModule.forRoot({ connection: redisConnection() }),
        BullModule.registerQueue({ name: queueName }),
        JobTracingModule.forFeature(queueName),
      ],
    });
    apps.push(app);
    const jobs = await app.get<TracedQueue>(getTracedQueueToken(queueName)).addBulk([
      { name: 'a', data: {} },
      { name: 'b', data: {} },
    ]);
    const spans = exporter.getFinishedSpans();
    const send = spans.find((span) => span.name === `send ${queueName}`)!;
    const creates = spans.filter((span) => span.name === `create ${queueName}`);
    assert.equal(send.kind, SpanKind.CLIENT);
    assert.deepEqual(
      send.links.map((link) => [link.context.spanId, link.attributes?.['messaging.message.id']]),
      jobs.map((job) => [creates.find((span) => span.attributes['messaging.message.id'] === job.id)!.spanContext().spanId, job.id]),
    );
    await app.get<Queue>(getQueueToken(queueName)).obliterate({ force: true });
  });

  it('exceptionEvents on api 1.9: a messaging.process.exception record through the optional peer @opentelemetry/api-logs (0.203)', async () => {
    const api = await import('@opentelemetry/api');
    assert.equal('logs' in api, false, 'api 1.9 has no logs entry point');
    const logExporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor(logExporter)] });
    logs.setGlobalLoggerProvider(provider);
    const queueName = uniqueQueueName('exception-events');

    @Processor(queueName)
    class FailingOnceProcessor extends WorkerHost {
      async process(job: Job): Promise<string> {
        if (job.attemptsMade === 0) throw new Error('first attempt fails');
        return 'done';
      }
    }

    try {
      const app = await startApp({
        imports: [
          JobTracingModule.forRoot({ exceptionEvents: true }),
          BullModule.forRoot({ connection: redisConnection() }),
          BullModule.registerQueue({ name: queueName }),
        ],
        providers: [FailingOnceProcessor],
      });
      apps.push(app);
      const job = await app.get<Queue>(getQueueToken(queueName)).add('flaky', {}, { attempts: 2 });
      assert.equal(await finalState(queueName, job.id!), 'completed');
      await waitFor('two task spans', () => (taskSpans(exporter, queueName).length === 2 ? true : undefined));
      const [failed] = taskSpans(exporter, queueName).filter((span) => span.status.code === SpanStatusCode.ERROR);
      const records = logExporter.getFinishedLogRecords();
      assert.equal(records.length, 1);
      const [record] = records;
      assert.equal(record.eventName, 'messaging.process.exception');
      assert.equal(record.severityNumber, 13);
      assert.equal(record.spanContext?.spanId, failed.spanContext().spanId);
      assert.equal(record.attributes['exception.message'], 'first attempt fails');
      assert.equal(record.attributes.task_id, job.id);
    } finally {
      logs.disable();
      await provider.shutdown();
    }
  });

  it('exceptionEvents without @opentelemetry/api-logs (its resolution fails, in a process of its own): nothing fails', async () => {
    const child = fileURLToPath(new URL('./without-api-logs.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [child], { timeout: 20_000 });
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.deepEqual(report, {
      resolutionsRefused: 1,
      rejectedWith: 'first attempt fails',
      spanStatus: SpanStatusCode.ERROR,
      exceptionEvents: 1,
      unhandled: [],
    });
  });

  it('names the fix when forFeature has no forRoot or no registered queue', async () => {
    const queueName = uniqueQueueName('startup');
    const start = (imports: unknown[]) =>
      startApp({ imports: [BullModule.forRoot({ connection: redisConnection() }), ...(imports as never[])] }).then((app) => {
        apps.push(app);
      });
    await assert.rejects(
      start([BullModule.registerQueue({ name: queueName }), JobTracingModule.forFeature(queueName)]),
      /JobTracingModule\.forRoot\(\)/,
    );
    await assert.rejects(
      start([JobTracingModule.forRoot(), JobTracingModule.forFeature(queueName)]),
      new RegExp(`BullModule\\.registerQueue\\(\\{ name: '${queueName}' \\}\\)`),
    );
  });
});
