// The enqueue side alone, resolved to microseconds: one process, one Redis connection,
// many small batches of each case in rotated order, CPU per job from process.cpuUsage()
// around each batch. Each case's added CPU per job is taken against its workload's plain
// case in the same round; the median across rounds comes with a bootstrap interval,
// and a difference whose interval includes 0 is "not resolved", never a number.
//   node bench/dist/producer.js [--rounds=30] [--batch=500] [--concurrency=50] [--only=key,key] [--before=DIR] [--table]
// --before=DIR adds the traced cases of an earlier build (a copy of dist/ inside the repository, as for micro.ts), keys ending in @before.
// A new case is one entry in CASES: a key, its workload and a function that enqueues `count` jobs.
import { context, propagation, type Span, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { type FlowJob, FlowProducer, type JobsOptions, Queue } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { Redis } from 'ioredis';
import * as library from 'nestjs-job-tracing';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CountingExporter } from './counting-exporter.js';
import { type AddedCpu, addedText, type ProducerCaseResult, producerLines, type ProducerRatio, type ProducerResults, type Workload } from './producer-report.js';
import { removeKeys } from './redis-keys.js';
import { bootstrapInterval, median } from './statistics.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '50' },
    only: { type: 'string' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    before: { type: 'string' },
    table: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);
const BULK_SIZE = 100;
const FLOW_CHILDREN = 3;

const exporter = new CountingExporter();
const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

// Every measured command goes through this one connection; keys are removed between rounds through another.
const connection = new Redis(values.redis, { maxRetriesPerRequest: null });
const admin = new Redis(values.redis, { maxRetriesPerRequest: 1 });
const prefix = `bench-producer-${randomUUID().slice(0, 8)}`;
const tracer = trace.getTracer('bench-hand-written');
// What TracedQueue stores, as a constant: the plain cases carry the same bytes to Redis.
const STORED = JSON.stringify({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
// What the library's send span carries beside the messaging attributes: the connection's host and port.
const redisUrl = new URL(values.redis);
const SERVER = { 'server.address': redisUrl.hostname, 'server.port': Number(redisUrl.port || 6379) };
const bullmqOtel = () => new BullMQOtel({ tracerName: 'bench-bullmq-otel', version: '1' });

/** Jobs per call: the batch is made of calls of this many jobs, several in flight. */
const JOBS_PER_CALL: Record<Workload, number> = { add: 1, addBulk: BULK_SIZE, flow: 1 + FLOW_CHILDREN };

interface ProducerCase {
  key: string;
  label: string;
  workload: Workload;
  /** One call: enqueues JOBS_PER_CALL[workload] jobs, whose `n` starts at `first`. */
  call: (first: number) => Promise<unknown>;
}

const queueOf = (name: string, telemetry?: BullMQOtel) => new Queue(name, { connection, prefix, telemetry });
const flowProducerOf = (telemetry?: BullMQOtel) => new FlowProducer({ connection, prefix, telemetry });
const withMetadata = (metadata: string | undefined): JobsOptions => ({ telemetry: { metadata } });
const bulkOf = (first: number, opts?: JobsOptions) => Array.from({ length: BULK_SIZE }, (_, i) => ({ name: 'job', data: { n: first + i }, opts }));
/** The same flow, each node carrying the metadata `metadataFor` gives it, parent first. */
const flowWithMetadataPerNode = (queueName: string, first: number, metadataFor: () => string): FlowJob => ({
  name: 'parent',
  queueName,
  data: { n: first },
  opts: withMetadata(metadataFor()),
  children: Array.from({ length: FLOW_CHILDREN }, (_, i) => ({ name: 'child', queueName, data: { n: first + 1 + i }, opts: withMetadata(metadataFor()) })),
});

const flowOf = (queueName: string, first: number, opts?: JobsOptions): FlowJob => ({
  name: 'parent',
  queueName,
  data: { n: first },
  opts,
  children: Array.from({ length: FLOW_CHILDREN }, (_, i) => ({ name: 'child', queueName, data: { n: first + 1 + i }, opts })),
});

/**
 * The hand-written producer: one PRODUCER span with the library's attributes (server ones included), its context injected,
 * the enqueue given it;
 * with `active`, the enqueue also runs under the span's context (as TracedQueue does, so that Redis spans are its children).
 */
async function handWritten<T>(queueName: string, operation: string, enqueue: (metadata: string) => Promise<T>, active = false): Promise<T> {
  const span = tracer.startSpan(`send ${queueName}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': queueName,
      'messaging.operation.name': operation,
      ...SERVER,
    },
  });
  const ctx = trace.setSpan(context.active(), span);
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  try {
    const metadata = JSON.stringify(carrier);
    const result = await (active ? context.with(ctx, enqueue, undefined, metadata) : enqueue(metadata));
    const id = (result as { id?: string }).id;
    if (id !== undefined) span.setAttribute('messaging.message.id', id);
    return result;
  } finally {
    span.end();
  }
}

/**
 * The hand-written batch with create spans, as the messaging conventions v1.44 recommend and TracedFlowProducer
 * does by default: a PRODUCER `create` span per message, whose context the message carries, and a CLIENT `send`
 * span under which the enqueue runs, linking every create span with its message's id.
 */
async function handWrittenWithCreates<T>(
  queueName: string,
  operation: string,
  enqueue: (metadataForNextMessage: () => string) => Promise<T>,
  idsOf: (result: T) => Array<string | undefined>,
): Promise<T> {
  const parent = context.active();
  const send = tracer.startSpan(`send ${queueName}`, {
    kind: SpanKind.CLIENT,
    attributes: { 'messaging.system': 'bullmq', 'messaging.operation.type': 'send', 'messaging.destination.name': queueName, 'messaging.operation.name': operation, ...SERVER },
  }, parent);
  const creates: Span[] = [];
  const metadataForNextMessage = () => {
    const create = tracer.startSpan(`create ${queueName}`, {
      kind: SpanKind.PRODUCER,
      attributes: { 'messaging.system': 'bullmq', 'messaging.operation.type': 'create', 'messaging.operation.name': 'create', 'messaging.destination.name': queueName, ...SERVER },
    }, parent);
    creates.push(create);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(parent, create), carrier);
    return JSON.stringify(carrier);
  };
  let ids: Array<string | undefined> = [];
  try {
    const result = await context.with(trace.setSpan(parent, send), enqueue, undefined, metadataForNextMessage);
    ids = idsOf(result);
    return result;
  } finally {
    send.addLinks(creates.map((create, index) => {
      const id = ids[index];
      if (id !== undefined) create.setAttribute('messaging.message.id', id);
      create.end();
      return id === undefined ? { context: create.spanContext() } : { context: create.spanContext(), attributes: { 'messaging.message.id': id } };
    }));
    send.end();
  }
}

const WORKLOADS: Workload[] = ['add', 'addBulk', 'flow'];

type Library = Pick<typeof library, 'TracedQueue' | 'TracedFlowProducer'>;

/** The library's cases, for the build at hand or (with --before) an earlier one. */
function tracedCases({ TracedQueue, TracedFlowProducer }: Library, suffix = ''): ProducerCase[] {
  const traced = new TracedQueue(queueOf(`tracedAdd${suffix}`));
  const tracedNoMetrics = new TracedQueue(queueOf(`tracedAddNoMetrics${suffix}`), { metrics: false });
  const tracedCommandsTraced = new TracedQueue(queueOf(`tracedAddCommandsTraced${suffix}`), { traceBullmqCommands: true });
  const tracedBulk = new TracedQueue(queueOf(`tracedBulk${suffix}`));
  const tracedBulkSendOnly = new TracedQueue(queueOf(`tracedBulkSendOnly${suffix}`), { createSpans: false });
  const tracedFlow = new TracedFlowProducer(flowProducerOf());
  const cases: ProducerCase[] = [
    { key: 'tracedAdd', label: 'TracedQueue.add', workload: 'add', call: (n) => traced.add('job', { n }) },
    { key: 'tracedAddNoMetrics', label: 'TracedQueue.add, metrics: false', workload: 'add', call: (n) => tracedNoMetrics.add('job', { n }) },
    // BullMQ's commands not made quiet: the quiet context's own cost is the difference from tracedAdd.
    { key: 'tracedAddCommandsTraced', label: 'TracedQueue.add, traceBullmqCommands: true', workload: 'add', call: (n) => tracedCommandsTraced.add('job', { n }) },
    { key: 'tracedBulk', label: `TracedQueue.addBulk of ${BULK_SIZE} (create spans)`, workload: 'addBulk', call: (n) => tracedBulk.addBulk(bulkOf(n)) },
    {
      key: 'tracedBulkSendOnly',
      label: `TracedQueue.addBulk of ${BULK_SIZE}, createSpans: false`,
      workload: 'addBulk',
      call: (n) => tracedBulkSendOnly.addBulk(bulkOf(n)),
    },
    { key: 'tracedFlow', label: `TracedFlowProducer.add, ${1 + FLOW_CHILDREN} nodes`, workload: 'flow', call: (n) => tracedFlow.add(flowOf(`tracedFlow${suffix}`, n)) },
  ];
  return cases.map((c) => ({ ...c, key: c.key + suffix, label: suffix ? `${c.label} (${values.before})` : c.label }));
}

function addCases(): ProducerCase[] {
  const plain = queueOf('plainAdd');
  const hand = queueOf('handWrittenAdd');
  const otel = queueOf('bullmqOtelAdd', bullmqOtel());
  const stored = withMetadata(STORED);
  return [
    { key: 'plainAdd', label: 'Queue.add with the same stored metadata', workload: 'add', call: (n) => plain.add('job', { n }, stored) },
    {
      key: 'handWrittenAdd',
      label: 'hand-written: PRODUCER span, inject, Queue.add',
      workload: 'add',
      call: (n) => handWritten(hand.name, 'add', (metadata) => hand.add('job', { n }, withMetadata(metadata))),
    },
    {
      key: 'handWrittenActiveAdd',
      label: 'hand-written, Queue.add under the span (context.with)',
      workload: 'add',
      call: (n) => handWritten(hand.name, 'add', (metadata) => hand.add('job', { n }, withMetadata(metadata)), true),
    },
    { key: 'bullmqOtelAdd', label: 'Queue.add with bullmq-otel telemetry', workload: 'add', call: (n) => otel.add('job', { n }) },
  ];
}

function addBulkCases(): ProducerCase[] {
  const plain = queueOf('plainBulk');
  const hand = queueOf('handWrittenBulk');
  const otel = queueOf('bullmqOtelBulk', bullmqOtel());
  const stored = withMetadata(STORED);
  return [
    { key: 'plainBulk', label: `Queue.addBulk of ${BULK_SIZE}, same stored metadata`, workload: 'addBulk', call: (n) => plain.addBulk(bulkOf(n, stored)) },
    {
      key: 'handWrittenBulk',
      label: `hand-written addBulk of ${BULK_SIZE}`,
      workload: 'addBulk',
      call: (n) => handWritten(hand.name, 'addBulk', (metadata) => hand.addBulk(bulkOf(n, withMetadata(metadata)))),
    },
    { key: 'bullmqOtelBulk', label: `Queue.addBulk of ${BULK_SIZE}, bullmq-otel`, workload: 'addBulk', call: (n) => otel.addBulk(bulkOf(n)) },
  ];
}

function flowCases(): ProducerCase[] {
  const plain = flowProducerOf();
  const hand = flowProducerOf();
  const otel = flowProducerOf(bullmqOtel());
  const stored = withMetadata(STORED);
  return [
    { key: 'plainFlow', label: `FlowProducer.add, ${1 + FLOW_CHILDREN} nodes, same stored metadata`, workload: 'flow', call: (n) => plain.add(flowOf('plainFlow', n, stored)) },
    {
      key: 'handWrittenFlow',
      label: `hand-written flow of ${1 + FLOW_CHILDREN}`,
      workload: 'flow',
      call: (n) => handWritten('handWrittenFlow', 'addFlow', (metadata) => hand.add(flowOf('handWrittenFlow', n, withMetadata(metadata)))),
    },
    {
      key: 'handWrittenActiveFlow',
      label: `hand-written flow of ${1 + FLOW_CHILDREN}, added under the span (context.with)`,
      workload: 'flow',
      call: (n) => handWritten('handWrittenActiveFlow', 'addFlow', (metadata) => hand.add(flowOf('handWrittenActiveFlow', n, withMetadata(metadata))), true),
    },
    {
      key: 'handWrittenCreateFlow',
      label: `hand-written flow of ${1 + FLOW_CHILDREN} with a create span per node, under a CLIENT send`,
      workload: 'flow',
      call: (n) =>
        handWrittenWithCreates(
          'handWrittenCreateFlow',
          'addFlow',
          (metadataFor) => hand.add(flowWithMetadataPerNode('handWrittenCreateFlow', n, metadataFor)),
          (node) => [node.job.id, ...(node.children ?? []).map((child) => child.job.id)],
        ),
    },
    { key: 'bullmqOtelFlow', label: `FlowProducer.add, ${1 + FLOW_CHILDREN} nodes, bullmq-otel`, workload: 'flow', call: (n) => otel.add(flowOf('bullmqOtelFlow', n)) },
  ];
}

/** Each workload's first case is its baseline: the others' added CPU is taken against it. */
const CASES: ProducerCase[] = [
  ...addCases(),
  ...addBulkCases(),
  ...flowCases(),
  ...tracedCases(library),
  ...(values.before ? tracedCases(await import(pathToFileURL(resolve(values.before, 'index.js')).href), '@before') : []),
].sort((a, b) => WORKLOADS.indexOf(a.workload) - WORKLOADS.indexOf(b.workload));
const only = values.only?.split(',');
// Added CPU needs the workload's baseline among the cases run: --only=plainAdd,tracedAdd.
const selected = only ? CASES.filter((c) => only.includes(c.key)) : CASES;

function baselineOf(c: ProducerCase): ProducerCase {
  return CASES.find((other) => other.workload === c.workload)!;
}

/** CPU microseconds per job of one batch: calls of the case, at most CONCURRENCY jobs in flight. */
async function batchCpu(c: ProducerCase, round: number): Promise<number> {
  const perCall = JOBS_PER_CALL[c.workload];
  const calls = Math.max(1, Math.round(BATCH / perCall));
  const inFlight = Math.max(1, Math.floor(CONCURRENCY / perCall));
  const first = round * BATCH;
  const before = process.cpuUsage();
  for (let made = 0; made < calls; made += inFlight) {
    const now = Math.min(inFlight, calls - made);
    await Promise.all(Array.from({ length: now }, (_, i) => c.call(first + (made + i) * perCall)));
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (calls * perCall);
}

const samples = new Map<string, number[]>(selected.map(({ key }) => [key, []]));
const warmupRounds = Number(values.warmup);
for (let round = 0; round < warmupRounds + ROUNDS; round++) {
  // Rotated, so that no case always follows the same one (garbage, caches, export work).
  const shift = round % selected.length;
  const order = [...selected.slice(shift), ...selected.slice(0, shift)];
  for (const c of order) {
    const micros = await batchCpu(c, round);
    if (round >= warmupRounds) samples.get(c.key)!.push(micros);
  }
  await removeKeys(admin, prefix);
}
await provider.forceFlush();
await removeKeys(admin, prefix);
await Promise.all([connection.quit(), admin.quit()]);

function addedOver(key: string, base: string): AddedCpu {
  const own = samples.get(key)!;
  const baseline = samples.get(base)!;
  const differences = own.map((micros, round) => micros - baseline[round]);
  const interval = bootstrapInterval(differences.map((d) => [d]), ([d]) => median(d));
  return { over: base, median: median(differences), interval, resolved: interval[0] > 0 || interval[1] < 0 };
}

function ratioOf(of: string, over: string): ProducerRatio | undefined {
  const ofCase = CASES.find((c) => c.key === of)!;
  const base = baselineOf(ofCase).key;
  if (!samples.has(of) || !samples.has(over) || !samples.has(base)) return undefined;
  const resolved = addedOver(of, base).resolved && addedOver(over, base).resolved;
  if (!resolved) return { of, over, ratio: null, interval: null, resolved };
  const ofAdded = samples.get(of)!.map((micros, round) => micros - samples.get(base)![round]);
  const overAdded = samples.get(over)!.map((micros, round) => micros - samples.get(base)![round]);
  const statistic = ([a, b]: number[][]) => median(a) / median(b);
  return {
    of,
    over,
    ratio: statistic([ofAdded, overAdded]),
    interval: bootstrapInterval(ofAdded.map((a, round) => [a, overAdded[round]]), statistic),
    resolved,
  };
}

const results: ProducerCaseResult[] = selected.map((c) => {
  const own = samples.get(c.key)!;
  const base = baselineOf(c).key;
  return {
    key: c.key,
    label: c.label,
    workload: c.workload,
    cpuMicrosPerJob: median(own),
    cpuIqr: [quantile(own, 0.25), quantile(own, 0.75)],
    ...(base !== c.key && samples.has(base) && { added: addedOver(c.key, base) }),
  };
});
const ratios = [
  ratioOf('tracedAdd', 'handWrittenAdd'),
  ratioOf('tracedAdd', 'bullmqOtelAdd'),
  // The hand-written batch makes one span, as TracedQueue does with createSpans: false.
  ratioOf('tracedBulkSendOnly', 'handWrittenBulk'),
  ratioOf('tracedBulk', 'bullmqOtelBulk'),
  ratioOf('tracedFlow', 'handWrittenFlow'),
  // Like for like: both make a create span per node and a CLIENT send linking them.
  ratioOf('tracedFlow', 'handWrittenCreateFlow'),
  ratioOf('tracedFlow', 'bullmqOtelFlow'),
].filter((r) => r !== undefined);

function quantile(numbers: number[], q: number): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.ceil(at)] - sorted[low]) * (at - low);
}

const output: ProducerResults = { rounds: ROUNDS, batch: BATCH, concurrency: CONCURRENCY, spansExported: exporter.count, cases: results, ratios };
if (values.table) {
  console.log(producerLines(output).join('\n'));
  for (const [key, base] of [['tracedAdd', 'handWrittenAdd'], ['tracedAdd', 'handWrittenActiveAdd'], ['handWrittenActiveAdd', 'handWrittenAdd'], ['tracedAdd', 'tracedAddNoMetrics'], ['tracedAdd', 'tracedAddCommandsTraced'], ['tracedAdd', 'tracedAdd@before'], ['tracedFlow', 'handWrittenActiveFlow'], ['tracedFlow', 'handWrittenCreateFlow'], ['handWrittenActiveFlow', 'handWrittenFlow']]) {
    if (samples.has(key) && samples.has(base)) console.log(`${key} over ${base}: ${addedText(addedOver(key, base))} us/job`);
  }
} else {
  process.stdout.write(JSON.stringify(output));
}
