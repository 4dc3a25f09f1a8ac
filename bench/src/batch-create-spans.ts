// What the messaging conventions' create spans cost on the enqueue side: CPU microseconds
// per job of an `addBulk` of BATCH jobs, with create spans (the default) and without
// (`createSpans: false`), against a plain Queue.addBulk measured in the same run.
// Two measurements, each in interleaved rounds (alternating order), median and least printed:
// - `stand-in`: a Queue whose addBulk resolves at once with ids, so only the library's own CPU counts;
// - `redis`: a real Queue on REDIS_URL; this process's CPU only (Redis's own is not counted).
// The SDK is registered as in an application: BatchSpanProcessor into an exporter that only counts.
//   npm run build && tsc -p bench && node bench/dist/batch-create-spans.js [--batch=100] [--rounds=7] [--batches=40]
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Queue } from 'bullmq';
import { TracedQueue } from 'nestjs-job-tracing';
import { parseArgs } from 'node:util';
import { CountingExporter } from './counting-exporter.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '7' },
    batches: { type: 'string', default: '40' },
  },
});
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
const BATCHES_PER_ROUND = Number(values.batches);

const exporter = new CountingExporter();
const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const tracer = trace.getTracer('bench');

const jobs = Array.from({ length: BATCH }, (_, index) => ({ name: 'job', data: { index } }));
let nextId = 0;
const standIn = {
  name: 'bench',
  opts: { connection: { host: '127.0.0.1', port: 6379 } },
  addBulk: async (added: unknown[]) => added.map(() => ({ id: String(++nextId) })),
} as unknown as Queue;
const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const redisQueue = new Queue(`bench-create-spans-${process.pid}`, {
  connection: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) },
});

interface Case {
  key: string;
  addBulk: () => Promise<unknown>;
}

const casesFor = (queue: Queue, where: string): Case[] => [
  { key: `${where}: Queue.addBulk (baseline)`, addBulk: () => queue.addBulk(jobs) },
  { key: `${where}: TracedQueue.addBulk, createSpans: false`, addBulk: () => new TracedQueue(queue, { createSpans: false, metrics: false }).addBulk(jobs) },
  { key: `${where}: TracedQueue.addBulk, create spans`, addBulk: () => new TracedQueue(queue, { metrics: false }).addBulk(jobs) },
];

/** Every batch inside a request span, as in an HTTP handler. CPU microseconds per job. */
async function cpuPerJob(addBulk: () => Promise<unknown>, batches: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < batches; i++) {
    await tracer.startActiveSpan('request', async (span) => {
      await addBulk();
      span.end();
    });
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (batches * BATCH);
}

const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)];

async function measure(cases: Case[], batches: number) {
  for (const { addBulk } of cases) await cpuPerJob(addBulk, Math.max(2, batches / 4)); // warm-up
  const samples = new Map(cases.map(({ key }) => [key, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const { key, addBulk } of round % 2 ? [...cases].reverse() : cases) samples.get(key)!.push(await cpuPerJob(addBulk, batches));
    if (cases[0].key.startsWith('redis')) await redisQueue.obliterate({ force: true });
  }
  return cases.map(({ key }) => ({ key, median: median(samples.get(key)!), least: Math.min(...samples.get(key)!) }));
}

const results = [
  ...(await measure(casesFor(standIn, 'stand-in'), BATCHES_PER_ROUND * 5)),
  ...(await measure(casesFor(redisQueue, 'redis'), BATCHES_PER_ROUND)),
];
await redisQueue.obliterate({ force: true });
await redisQueue.close();
await provider.shutdown();

console.log(`CPU us per job, addBulk of ${BATCH}, ${ROUNDS} rounds; spans exported: ${exporter.count}`);
console.log(' median    least  case');
for (const { key, median: mid, least } of results) console.log(`${mid.toFixed(2).padStart(7)}  ${least.toFixed(2).padStart(7)}  ${key}`);
