import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Job } from 'bullmq';
import { ContextualTaskSpan, TraceTask } from '../lib/index.js';
import { startApp } from './support/app.js';
import { queueOf, uniqueQueueName } from './support/queues.js';
import { RecordingLogger } from './support/recording-logger.js';

// `npm run soak` runs this with FUZZ_JOBS=10000. FUZZ_SEED replays a run.
const JOBS = Number(process.env.FUZZ_JOBS ?? 2_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
const hex = (length: number) => Array.from({ length }, () => pick([...'0123456789abcdef'])).join('');
const bytes = (length: number) => String.fromCharCode(...Array.from({ length }, () => Math.floor(random() * 0x10000)));
const traceparent = () => `00-${hex(32)}-${hex(16)}-0${pick(['0', '1'])}`;

/** One random stored context: valid, malformed or hostile. Undefined: no telemetry at all. */
const GENERATORS: Array<() => unknown> = [
  () => undefined,
  () => JSON.stringify({ traceparent: traceparent() }),
  () => JSON.stringify({ traceparent: traceparent(), tracestate: 'vendor=1', baggage: 'user=1' }),
  () => bytes(1 + Math.floor(random() * 200)),
  () => JSON.stringify({ traceparent: traceparent() }).slice(0, Math.floor(random() * 60)),
  () => JSON.stringify({ traceparent: traceparent().toUpperCase() }),
  () => JSON.stringify({ traceparent: `00-${'0'.repeat(32)}-${hex(16)}-01` }),
  () => JSON.stringify({ traceparent: `00-${hex(32)}-${'0'.repeat(16)}-01` }),
  () => JSON.stringify({ traceparent: `ff-${hex(32)}-${hex(16)}-01` }),
  () => JSON.stringify({ traceparent: traceparent(), tracestate: Array.from({ length: 40 }, (_, i) => `k${i}=${hex(4)}`).join(',') }),
  () => `{"__proto__":{"traceparent":"${traceparent()}","polluted":true}}`,
  () => `{"constructor":{"prototype":{"polluted":true}},"traceparent":"${traceparent()}"}`,
  () => JSON.stringify({ traceparent: traceparent(), baggage: `${bytes(20)}=${bytes(20)}` }),
  () => JSON.stringify({ traceparent: `${traceparent()}${'x'.repeat(Math.floor(random() * 50))}` }),
  () => JSON.stringify({ traceparent: [traceparent()] }),
  () => pick([42, true, null, {}, []]),
  () => JSON.stringify(pick([null, 0, 'x', [], {}])),
  () => (random() < 0.1 ? JSON.stringify({ traceparent: traceparent(), padding: 'x'.repeat(100 * 1024) }) : '{}'),
];

describe(`fuzz: ${JOBS} jobs with random stored contexts (seed ${SEED})`, () => {
  const counts = { started: 0, ended: 0 };
  const exporter = new InMemorySpanExporter();
  const counting: SpanProcessor = {
    onStart: () => void counts.started++,
    onEnd: () => void counts.ended++,
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  let app: INestApplicationContext;
  const logger = new RecordingLogger();

  beforeAll(() => {
    // Always on: a context with the sampled flag off must still give a span to count.
    trace.setGlobalTracerProvider(
      new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [counting, new SimpleSpanProcessor({ exporter })] }),
    );
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });

  afterAll(async () => {
    await app?.close();
  });

  it('fails no job, leaves no span open, pollutes no prototype', async () => {
    const queueName = uniqueQueueName('fuzz');

    @Processor(queueName, { concurrency: 50 })
    @TraceTask(new ContextualTaskSpan())
    class FuzzedProcessor extends WorkerHost {
      async process(job: Job) {
        return job.name;
      }
    }

    app = await startApp({ logger, imports: [BullModule.registerQueue({ name: queueName })], providers: [FuzzedProcessor] });
    const queue = queueOf(app, queueName);
    for (let from = 0; from < JOBS; from += 500) {
      await queue.addBulk(
        Array.from({ length: Math.min(500, JOBS - from) }, (_, index) => {
          const metadata = pick(GENERATORS)();
          return { name: `fuzz-${from + index}`, data: {}, opts: metadata === undefined ? {} : { telemetry: { metadata: metadata as string } } };
        }),
      );
    }
    const deadline = Date.now() + 240_000;
    while ((await queue.getCompletedCount()) + (await queue.getFailedCount()) < JOBS) {
      if (Date.now() > deadline) throw new Error(`only ${await queue.getCompletedCount()} of ${JOBS} jobs completed`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await queue.getFailedCount()).toBe(0);
    expect(await queue.getCompletedCount()).toBe(JOBS);
    // Every attempt ended its span before BullMQ completed the job.
    expect(counts).toEqual({ started: JOBS, ended: JOBS });
    expect(exporter.getFinishedSpans().filter((span) => span.name === 'task')).toHaveLength(JOBS);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).traceparent).toBeUndefined();
    expect(logger.errors).toEqual([]);
    console.log(
      `fuzz (seed ${SEED}): ${JOBS} jobs, 0 failed; spans started ${counts.started}, ended ${counts.ended}; ` +
        `${logger.warnings.length} warnings about unusable contexts`,
    );
  }, 300_000);
});
