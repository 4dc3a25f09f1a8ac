import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { Job } from 'bullmq';
import { ContextualTaskSpan, type MakeSpan, type TaskSpan, TraceTask, TracingContext } from '../lib/index.js';
import { startApp } from './support/app.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { RecordingLogger } from './support/recording-logger.js';
import { withStoredContextJobs } from './support/stored-context-app.js';
import { setupTracing, spansNamed, waitForSpans } from './support/tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const carrier = (fields: object) => JSON.stringify(fields);

/** `metadata: undefined` means the job stores no telemetry at all. */
const MALFORMED: Array<[string, unknown]> = [
  ['missing', undefined],
  ['empty', ''],
  ['not JSON', '{"traceparent": '],
  ['a JSON array', '["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]'],
  ['a JSON string', '"traceparent"'],
  ['JSON null', 'null'],
  ['a number instead of a string', 42],
  ['a traceparent of the wrong type', carrier({ traceparent: 42 })],
  ['an object under __proto__', '{"__proto__":{"traceparent":"x"}}'],
  ['no traceparent', carrier({ tracestate: 'a=1' })],
  ['a malformed traceparent', carrier({ traceparent: 'garbage' })],
  ['an all-zero trace id', carrier({ traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` })],
  ['version ff', carrier({ traceparent: `ff-${TRACE_ID}-${SPAN_ID}-01` })],
  ['upper-case hex', carrier({ traceparent: `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01` })],
  [
    '33 tracestate members',
    carrier({
      traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`,
      tracestate: Array.from({ length: 33 }, (_, index) => `k${index}=v`).join(','),
    }),
  ],
  ['a 600-character tracestate', carrier({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: `a=${'x'.repeat(598)}` })],
  ['1 MB of metadata', carrier({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, padding: 'x'.repeat(1024 * 1024) })],
];

let exporter: InMemorySpanExporter;
beforeAll(() => {
  exporter = setupTracing();
});

describe('malformed or hostile trace context on a job', () => {
  const run = withStoredContextJobs(() => exporter, {
    queue: 'hostile',
    strategy: new ContextualTaskSpan(),
    contexts: [...MALFORMED, ['valid', carrier({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` })]],
  });

  it.each(MALFORMED)('runs a job whose context is %s under a new root', async (name) => {
    const job = run.jobs.get(name)!;
    expect(await finished(job)).toBe(`ran ${name}`);
    const span = spansNamed(exporter.getFinishedSpans(), 'task', run.queueName).find(
      (candidate) => candidate.attributes.task_id === job.id,
    );
    expect(span).toBeDefined();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.spanContext().traceId).not.toBe(TRACE_ID);
    expect(span!.attributes.trace_id).toBeUndefined();
  });

  // Rate-limited per queue (one in full, then a summary per minute): the first bad job is named in full.
  it('warns once in full for the queue, and notes a job with no context at debug level only', async () => {
    const onQueue = run.logger.warnings.filter((warning) => warning.includes(`of queue "${run.queueName}"`));
    expect(onQueue).toEqual([
      expect.stringContaining(`Job ${run.jobs.get('empty')!.id} of queue "${run.queueName}" runs under a new root trace`),
    ]);
    // The warning explains, but never echoes the job's (possibly huge) metadata.
    expect(onQueue[0].length).toBeLessThan(300);
    const missing = run.jobs.get('missing')!;
    expect(run.logger.debugs).toContainEqual(
      `Job ${missing.id} of queue "${run.queueName}" runs under a new root trace: no trace context is stored on the job`,
    );
  });

  it('continues a valid context on the same queue, without a warning', async () => {
    const job = run.jobs.get('valid')!;
    const span = spansNamed(exporter.getFinishedSpans(), 'task', run.queueName).find(
      (candidate) => candidate.attributes.task_id === job.id,
    );
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(run.logger.warnings.filter((warning) => warning.includes(`Job ${job.id} `))).toHaveLength(0);
    expect(run.logger.errors).toEqual([]);
  });
});

/** Strategies that fail in every way a user's code might. */
const BROKEN_STRATEGIES: Array<[string, MakeSpan]> = [
  ['throws', { makeSpan: () => { throw new Error('strategy bug'); } }],
  ['returns nothing', { makeSpan: () => undefined as unknown as TaskSpan }],
  ['returns a level name instead of a SpanLevel', { makeSpan: () => ({ name: 'x', level: 'INFO' }) as unknown as TaskSpan }],
  [
    'returns a parent that is not a TracingContext',
    { makeSpan: () => ({ name: 'x', level: 3, parent: { traceId: 'nope' } as unknown as TracingContext }) },
  ],
  [
    'returns a propagation that is not a style',
    { makeSpan: () => ({ name: 'x', level: 3, propagation: 'sideways' }) as unknown as TaskSpan },
  ],
];

describe('a strategy that fails', () => {
  it.each(BROKEN_STRATEGIES)('that %s: the job runs under a default task span and one error is logged', async (_case, strategy) => {
    const logger = new RecordingLogger();
    const queueName = uniqueQueueName('broken');

    @Processor(queueName)
    @TraceTask(strategy)
    class BrokenStrategyProcessor extends WorkerHost {
      async process() {
        return 'ran anyway';
      }
    }

    const app = await startApp({ logger, imports: [BullModule.registerQueue({ name: queueName })], providers: [BrokenStrategyProcessor] });
    try {
      const job = await queueOf(app, queueName).add('job', {});
      expect(await finished(job)).toBe('ran anyway');
      const spans = await waitForSpans(exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
      expect(spansNamed(spans, 'task', queueName)[0].attributes.task_id).toBe(job.id);
      expect(logger.errors).toHaveLength(1);
      expect(logger.errors[0]).toContain(`job ${job.id} of queue "${queueName}"`);
    } finally {
      await app.close();
    }
  });
});

/** A valid context, with a propagation style beside it that is not one. */
const MALFORMED_STYLES: Array<[string, unknown]> = [
  ['an unknown word', 'sideways'],
  ['upper case', 'LINK'],
  ['an empty string', ''],
  ['a number', 42],
  ['JSON null', null],
  ['an object', { style: 'link' }],
  ['an array', ['link']],
  ['10 kB of text', 'x'.repeat(10_000)],
];

describe('malformed propagation style on a job', () => {
  const run = withStoredContextJobs(() => exporter, {
    queue: 'hostile-style',
    // The processor's style is link, so falling back to it shows in the span.
    strategy: new ContextualTaskSpan({ propagation: 'link' }),
    contexts: MALFORMED_STYLES.map(([name, style]) => [
      name,
      carrier({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, 'nestjs-job-tracing-propagation': style }),
    ]),
  });

  it.each(MALFORMED_STYLES)("runs a job whose style is %s in its processor's style (link)", async (name) => {
    const job = run.jobs.get(name)!;
    expect(await finished(job)).toBe(`ran ${name}`);
    const span = spansNamed(exporter.getFinishedSpans(), 'task', run.queueName).find(
      (candidate) => candidate.attributes.task_id === job.id,
    )!;
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.links.map((link) => [link.context.traceId, link.context.spanId])).toEqual([[TRACE_ID, SPAN_ID]]);
    expect(span.attributes).toMatchObject({ trace_id: TRACE_ID, span_id: SPAN_ID });
    expect(run.logger.errors).toEqual([]);
  });

  it('warns once in full for the queue; the other bad styles wait for the summary', () => {
    const warnings = run.logger.warnings.filter((warning) => warning.includes(`of queue "${run.queueName}"`));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("uses its processor's propagation style");
    expect(warnings[0]).toContain(`Job ${run.jobs.get(MALFORMED_STYLES[0][0])!.id} `);
    expect(warnings[0].length).toBeLessThan(300);
  });
});

const LINE_PREFIX = '[nestjs-job-tracing] attempt 1 failed; ';
const fields = (traceId: string, spanId: string, flags = '01') => `trace_id=${traceId} span_id=${spanId} trace_flags=${flags}`;

/** Lines of ours in a job's log that a retry must reject: appended after attempt 1 failed, so they are the newest. */
const MALFORMED_RETRY_LINES: Array<[string, string]> = [
  ['not in the format', `${LINE_PREFIX}garbage`],
  ['an attempt that is not a number', `[nestjs-job-tracing] attempt one failed; ${fields(TRACE_ID, SPAN_ID)}`],
  ['an all-zero trace id', LINE_PREFIX + fields('0'.repeat(32), SPAN_ID)],
  ['an all-zero span id', LINE_PREFIX + fields(TRACE_ID, '0'.repeat(16))],
  ['upper-case hex', LINE_PREFIX + fields(TRACE_ID.toUpperCase(), SPAN_ID)],
  ['a short span id', LINE_PREFIX + fields(TRACE_ID, SPAN_ID.slice(2))],
  ['flags that are not hex', LINE_PREFIX + fields(TRACE_ID, SPAN_ID, 'zz')],
  ['a second line smuggled after a newline', `${LINE_PREFIX}${fields(TRACE_ID, SPAN_ID)}\n${LINE_PREFIX}${fields(TRACE_ID, SPAN_ID)}`],
  ['10 KB of padding', `${LINE_PREFIX}${fields(TRACE_ID, SPAN_ID)}${'x'.repeat(10_000)}`],
];

describe('a malformed or hostile retry context in a job\'s log', () => {
  let app: INestApplicationContext;
  let logger: RecordingLogger;
  let queueName: string;
  const jobs = new Map<string, Job>();

  beforeAll(async () => {
    logger = new RecordingLogger();
    queueName = uniqueQueueName('hostile-retry');

    @Processor(queueName)
    class FailsOnceProcessor extends WorkerHost {
      async process(job: Job) {
        if (job.attemptsMade === 0) throw new Error('first attempt fails');
        return `ran ${job.name}`;
      }
    }

    app = await startApp({ logger, imports: [BullModule.registerQueue({ name: queueName })], providers: [FailsOnceProcessor] });
    const queue = queueOf(app, queueName);
    for (const [name] of MALFORMED_RETRY_LINES) {
      jobs.set(name, await queue.add(name, {}, { attempts: 2, backoff: { type: 'fixed', delay: 3000 } }));
    }
    for (const [name, line] of MALFORMED_RETRY_LINES) {
      const job = jobs.get(name)!;
      const deadline = Date.now() + 10_000;
      while ((await queue.getJobState(job.id!)) !== 'delayed') {
        if (Date.now() > deadline) throw new Error(`job ${job.id} never failed its first attempt`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await job.log(line);
    }
    await waitForSpans(exporter, (spans) => spansNamed(spans, 'task', queueName).length === 2 * jobs.size, 20_000);
  });

  afterAll(async () => {
    await app.close();
  });

  it.each(MALFORMED_RETRY_LINES)('runs attempt 2 of a job whose newest line is %s, unlinked', async (name) => {
    const job = jobs.get(name)!;
    expect(await finished(job)).toBe(`ran ${name}`);
    const second = spansNamed(exporter.getFinishedSpans(), 'task', queueName).find(
      (span) => span.attributes.task_id === job.id && span.attributes.attempt === 2,
    );
    expect(second).toBeDefined();
    expect(second!.links).toEqual([]);
    expect(second!.attributes['messaging.bullmq.job.attempts_made']).toBe(1);
  });

  it('warns once in full for the queue, without echoing the line; the others wait for the summary', () => {
    const warnings = logger.warnings.filter((warning) => warning.includes(`of queue "${queueName}"`));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`Job ${jobs.get(MALFORMED_RETRY_LINES[0][0])!.id} `);
    expect(warnings[0]).toContain('previous attempt');
    expect(warnings[0].length).toBeLessThan(300);
    expect(warnings[0]).not.toContain('garbage');
  });
});
