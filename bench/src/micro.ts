// Where the per-job time goes without Redis: the library's wrapper and its parts,
// against a bare span, in CPU microseconds per call. Runs in its own process for a
// clean global state; every case is measured in interleaved rounds (in alternating
// order), and the median and the least are printed, as JSON, in the order of CASES.
// On a shared machine, interference only adds time: the least is the steadier figure.
//   node bench/dist/micro.js [--iterations=N] [--rounds=R] [--only=key,key] [--before=DIR] [--table]
// An SDK MeterProvider is registered, as in an application with metrics.
// --before=DIR measures the library's cases against a copy of an earlier dist/ too, in the same process.
// DIR must lie inside the repository, so that it resolves the same node_modules (bench/dist is ignored by git):
//   git stash; npm run build; cp -r dist bench/dist/before; git stash pop; npm run bench  (or npm run build && tsc -p bench)
//   node bench/dist/micro.js --before=bench/dist/before --table
import { type Attributes, context, createContextKey, metrics, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { type Job, type Queue, Worker } from 'bullmq';
import { EventEmitter } from 'node:events';
import type { MakeSpan } from 'nestjs-job-tracing';
import * as currentIndex from 'nestjs-job-tracing';
import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CountingExporter } from './counting-exporter.js';
// Internal on purpose: this measures the per-job layer itself, which the package does not export.
import * as currentStoredContext from '../../dist/context/stored-trace-context.js';
import * as currentExplorer from '../../dist/job-tracing.explorer.js';
import * as currentJobMetrics from '../../dist/metrics/job-metrics.js';
import { addQuietWorkers } from '../../dist/instrument/quiet-worker.js';
import { runWorkerEventsInAttemptContext } from '../../dist/instrument/worker-events.js';
import { openContext, quietContext } from '../../dist/context/quiet-context.js';
import * as currentTaskTracer from '../../dist/tracing/task-tracer.js';

interface Lib {
  index: typeof currentIndex;
  storedContext: typeof currentStoredContext;
  explorer: typeof currentExplorer;
  taskTracer: typeof currentTaskTracer;
  jobMetrics: typeof currentJobMetrics;
}
const currentLib: Lib = {
  index: currentIndex,
  storedContext: currentStoredContext,
  explorer: currentExplorer,
  taskTracer: currentTaskTracer,
  jobMetrics: currentJobMetrics,
};

async function loadLib(dist: string): Promise<Lib> {
  const load = (path: string) => import(pathToFileURL(resolve(dist, path)).href);
  return {
    index: await load('index.js'),
    storedContext: await load('context/stored-trace-context.js'),
    explorer: await load('job-tracing.explorer.js'),
    taskTracer: await load('tracing/task-tracer.js'),
    jobMetrics: await load('metrics/job-metrics.js'),
  };
}

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    before: { type: 'string' },
    table: { type: 'boolean', default: false },
  },
});
const ITERATIONS = Number(values.iterations);
const ROUNDS = Number(values.rounds);

trace.setGlobalTracerProvider(
  new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: new CountingExporter() })] }),
);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
// Collected every second, as an application's reader would, into an exporter that keeps nothing for long.
metrics.setGlobalMeterProvider(
  new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.DELTA),
        exportIntervalMillis: 1000,
      }),
    ],
  }),
);

const tracer = trace.getTracer('micro');
const quietLogger = { error() {}, warn() {}, log() {} };
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
// A first attempt as BullMQ hands it over: added 5 ms before it started.
const jobWith = (metadata?: string) =>
  ({
    id: '42',
    queueName: 'micro',
    attemptsMade: 0,
    attemptsStarted: 1,
    timestamp: 1_700_000_000_000,
    processedOn: 1_700_000_000_005,
    data: {},
    opts: metadata === undefined ? {} : { telemetry: { metadata } },
  }) as unknown as Job;
const job = jobWith(JSON.stringify({ traceparent: TRACEPARENT }));
const jobWithTraceState = jobWith(JSON.stringify({ traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' }));
const handler = async () => 'done';
// What the library sets on a DefaultTaskSpan for this job, built per call as it does; checkLikeForLike() holds it to that.
const taskAttributes = (): Attributes => ({
  task_id: job.id,
  attempt: job.attemptsMade + 1,
  'messaging.system': 'bullmq',
  'messaging.operation.type': 'process',
  'messaging.operation.name': 'process',
  'messaging.destination.name': job.queueName,
  'messaging.message.id': job.id,
  'messaging.bullmq.job.wait_ms': job.processedOn! - job.timestamp,
});

/** The floor with the task's attributes: a CONSUMER span, made active for the handler. */
function floorWithAttributes(spanTracer = tracer) {
  const span = spanTracer.startSpan('task', { kind: SpanKind.CONSUMER, attributes: taskAttributes() });
  return context.with(trace.setSpan(ROOT_CONTEXT, span), handler).finally(() => span.end());
}

/**
 * What ContextualTaskSpan does, by hand: the stored context extracted with the global propagator,
 * a span under it with the task's attributes and the stored W3C fields, linked to that same creation
 * context (as the messaging conventions ask of a process span), made active for the handler.
 */
function handWrittenContextual(spanTracer = tracer) {
  const parent = propagation.extract(ROOT_CONTEXT, JSON.parse((job.opts.telemetry as { metadata: string }).metadata));
  const stored = trace.getSpanContext(parent)!;
  const span = spanTracer.startSpan(
    'task',
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...taskAttributes(),
        trace_id: stored.traceId,
        span_id: stored.spanId,
        trace_flags: stored.traceFlags.toString(16).padStart(2, '0'),
      },
      links: [{ context: stored }],
    },
    parent,
  );
  return context.with(trace.setSpan(parent, span), handler).finally(() => span.end());
}

const SCRATCH_KEY = createContextKey('micro scratch');
// Events on one long-lived span: the SDK keeps the latest 128 and counts the others dropped, at the same cost per event.
const eventSpan = tracer.startSpan('events');
// The enqueue side against a stand-in for Queue.add that resolves at once: the wrapper's cost only.
const standInQueue = { name: 'micro', add: async () => ({ id: '1' }), addBulk: async () => [] } as unknown as Queue;
const producerAttributes = (): Attributes => ({
  'messaging.system': 'bullmq',
  'messaging.operation.type': 'send',
  'messaging.destination.name': 'micro',
  'messaging.operation.name': 'add',
});
const spanContext = () => trace.setSpan(ROOT_CONTEXT, tracer.startSpan('producer'));
const activeSpanContext = spanContext();

const processor = async (_job: Job) => 'done';
// The library keeps the task's log fields in a storage of its own too, for apps with no context manager.
const scopeStorage = new AsyncLocalStorage<Job>();

// BullMQ's own commands on Workers with a stand-in backend that answers at once: what quieting them adds.
const standInBackend = { extendLocks: async () => [] as string[] };
const standInWorker = (claimed: boolean) => Object.assign(Object.create(Worker.prototype) as Worker, { backend: standInBackend, claimed });
const quietWorker = standInWorker(true);
const openWorker = standInWorker(false);
addQuietWorkers({ traces: (worker) => (worker as Worker & { claimed: boolean }).claimed });
runWorkerEventsInAttemptContext({ traces: () => false });
// The context a quiet Worker's loop runs in, and so every processJob.
const quietLoopContext = quietContext(ROOT_CONTEXT);
// Each enqueue has a send span of its own: two contexts in turn, so no call reuses the last one's result.
const sendContextA = spanContext();
const sendContextB = spanContext();
let flip = false;

interface Case {
  key: string;
  label: string;
  call: () => unknown;
}

const CASES: Case[] = [
  { key: 'handlerOnly', label: 'handler only', call: handler },
  { key: 'bareSpan', label: 'bare startSpan/end', call: () => { tracer.startSpan('bare').end(); return handler(); } },
  {
    key: 'floor',
    label: 'floor: span + context.with',
    call: () => {
      const span = tracer.startSpan('task');
      return context.with(trace.setSpan(ROOT_CONTEXT, span), handler).finally(() => span.end());
    },
  },
  { key: 'floorAttributes', label: 'floor + the attributes a DefaultTaskSpan gets', call: () => floorWithAttributes() },
  { key: 'handWrittenContextual', label: 'hand-written contextual: extract, span under it, same attributes and links', call: () => handWrittenContextual() },
  {
    key: 'floorAttributesEvents',
    label: 'floor + the attributes + 2 events',
    call: () => {
      const span = tracer.startSpan('task', { kind: SpanKind.CONSUMER, attributes: taskAttributes() });
      span.addEvent('task.start');
      const startedAt = performance.now();
      return context.with(trace.setSpan(ROOT_CONTEXT, span), handler).finally(() => {
        span.addEvent('task.done', { latency_ms: performance.now() - startedAt });
        span.end();
      });
    },
  },
  { key: 'asyncLayer', label: 'part: one more async function awaiting the handler', call: async () => await handler() },
  { key: 'contextCopy', label: 'part: one more context (Context.setValue)', call: () => ROOT_CONTEXT.setValue(SCRATCH_KEY, job) },
  { key: 'scopeStorageRun', label: 'part: AsyncLocalStorage.run around the handler', call: () => scopeStorage.run(job, handler) },
  { key: 'eventOnly', label: 'part: one span event with one attribute', call: () => eventSpan.addEvent('task.done', { latency_ms: 1 }) },
  ...libCases(currentLib),
  { key: 'jsonParse', label: 'part: JSON.parse of the stored context', call: () => JSON.parse((job.opts.telemetry as { metadata: string }).metadata) },
  { key: 'plainAdd', label: 'enqueue: stand-in Queue.add', call: () => standInQueue.add('job', {}) },
  {
    key: 'producerSpan',
    label: 'enqueue part: producer span with its 4 attributes, started and ended',
    call: () => {
      const span = tracer.startSpan('send micro', { kind: SpanKind.PRODUCER, attributes: producerAttributes() });
      span.setAttribute('messaging.message.id', '1');
      span.end();
    },
  },
  { key: 'contextWith', label: 'enqueue part: context.with around the add', call: () => context.with(activeSpanContext, standInQueue.add, standInQueue, 'job', {}) },
  { key: 'openContext', label: 'worker, per job: the handler\'s context from before the quiet loop\'s', call: () => openContext(quietLoopContext) },
  {
    key: 'quietEnqueueContext',
    label: 'enqueue, per call: the send span\'s context quieted for BullMQ\'s commands',
    call: () => quietContext((flip = !flip) ? sendContextA : sendContextB),
  },
  { key: 'bullmqCommand', label: 'worker: a BullMQ command, called directly', call: () => standInBackend.extendLocks() },
  { key: 'quietCommand', label: 'worker: the same, quieted (lock renewal, stalled check)', call: () => quietWorker.extendJobLocks([], [], 1) },
  { key: 'openCommand', label: 'worker: the same on a Worker the library does not claim', call: () => openWorker.extendJobLocks([], [], 1) },
  { key: 'emitBare', label: 'worker: EventEmitter emit, no listener', call: () => EventEmitter.prototype.emit.call(quietWorker, 'completed', job) },
  { key: 'emitNoListener', label: 'worker: Worker emit (attempt context), no listener', call: () => quietWorker.emit('completed', job, 'done', 'active') },
  {
    key: 'defineLength',
    label: 'request-scoped part: defineProperty(length) on a new closure',
    call: () => Object.defineProperty((_job: Job) => processor(_job), 'length', { value: 1 }),
  },
];

/** The cases that run the library's code, for the library at hand or (with --before) an earlier build of it. */
function libCases(lib: Lib, suffix = ''): Case[] {
  const { TaskTracer } = lib.taskTracer;
  const { readStoredContext, serializeContext, withStoredContext } = lib.storedContext;
  const { ContextualTaskSpan, DefaultTaskSpan, LevelFilter, SpanLevel, TracedQueue } = lib.index;
  const info = LevelFilter.parse('info');
  const taskTracer = new TaskTracer({ tracer, levelFilter: info, logger: quietLogger });
  const noEventsTracer = new TaskTracer({ tracer, levelFilter: info, logger: quietLogger, hooks: { onStart() {}, onSuccess() {} } });
  const metricsTracer = new TaskTracer({ tracer, levelFilter: info, logger: quietLogger, metrics: new lib.jobMetrics.JobMetrics() });
  const run = (tracerToUse: InstanceType<typeof TaskTracer>, makeSpan: MakeSpan) => () =>
    tracerToUse.run(makeSpan, job, ROOT_CONTEXT, handler);
  const tracedQueue = new TracedQueue(standInQueue);
  const tracedQueueNoSpan = new TracedQueue(standInQueue, { producerSpan: false });
  const tracedQueueTraced = new TracedQueue(standInQueue, { traceBullmqCommands: true } as never);
  // Request-scoped processors: @nestjs/bullmq decorates the processor again for every job.
  const explorer = new lib.explorer.JobTracingExplorer(undefined as never, { getProviders: () => [] } as never, undefined as never, taskTracer, {});
  const cases: Case[] = [
    { key: 'defaultTaskSpan', label: 'TaskTracer.run, DefaultTaskSpan', call: run(taskTracer, new DefaultTaskSpan()) },
    { key: 'defaultMetrics', label: 'TaskTracer.run, DefaultTaskSpan, with metrics', call: run(metricsTracer, new DefaultTaskSpan()) },
    { key: 'defaultNoEvents', label: 'TaskTracer.run, DefaultTaskSpan, no-op onStart/onSuccess', call: run(noEventsTracer, new DefaultTaskSpan()) },
    {
      key: 'defaultFiltered',
      label: 'TaskTracer.run, DEBUG span under an INFO filter (not recorded)',
      call: run(taskTracer, new DefaultTaskSpan({ level: SpanLevel.DEBUG })),
    },
    { key: 'contextualTaskSpan', label: 'TaskTracer.run, ContextualTaskSpan', call: run(taskTracer, new ContextualTaskSpan()) },
    { key: 'readStoredContext', label: 'readStoredContext, traceparent only', call: () => readStoredContext(job) },
    { key: 'readStoredContextTraceState', label: 'readStoredContext, traceparent + tracestate', call: () => readStoredContext(jobWithTraceState) },
    { key: 'tracedAdd', label: 'enqueue: TracedQueue.add (producer span)', call: () => tracedQueue.add('job', {}) },
    { key: 'tracedAddNoSpan', label: 'enqueue: TracedQueue.add, producerSpan: false', call: () => tracedQueueNoSpan.add('job', {}) },
    { key: 'tracedAddTracedCommands', label: 'enqueue: TracedQueue.add, traceBullmqCommands: true', call: () => tracedQueueTraced.add('job', {}) },
    { key: 'serializeContext', label: 'enqueue part: serializeContext', call: () => serializeContext(activeSpanContext) },
    { key: 'withStoredContext', label: 'enqueue part: withStoredContext', call: () => withStoredContext(undefined, '{"traceparent":"x"}') },
    { key: 'decoratePerJob', label: 'request-scoped: explorer.decorate per job', call: () => explorer.decorate(processor) },
  ];
  return cases.map((c) => ({ ...c, key: c.key + suffix, label: suffix ? `${c.label} (${values.before})` : c.label }));
}

async function cpuMicrosPerCall(call: () => unknown, iterations: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) await call();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / iterations;
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The floors must record what the library records, or their ratios mean nothing: each pair runs once into
 * an in-memory exporter, and any difference in kind, parent, attributes, links or events stops the benchmark.
 * When the library starts recording more (a link, an attribute), the floor here gets the same.
 */
async function checkLikeForLike(): Promise<void> {
  const exporter = new InMemorySpanExporter();
  const checkTracer = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }).getTracer('micro-check');
  const taskTracer = new currentTaskTracer.TaskTracer({ tracer: checkTracer, levelFilter: currentIndex.LevelFilter.parse('info'), logger: quietLogger });
  const pairs: Array<[string, () => unknown, () => unknown]> = [
    ['defaultTaskSpan/floorAttributes', () => taskTracer.run(new currentIndex.DefaultTaskSpan(), job, ROOT_CONTEXT, handler), () => floorWithAttributes(checkTracer)],
    ['contextualTaskSpan/handWrittenContextual', () => taskTracer.run(new currentIndex.ContextualTaskSpan(), job, ROOT_CONTEXT, handler), () => handWrittenContextual(checkTracer)],
  ];
  const shape = (span: ReadableSpan) =>
    JSON.stringify({
      kind: span.kind,
      parent: span.parentSpanContext?.spanId,
      attributes: Object.fromEntries(Object.entries(span.attributes).sort(([a], [b]) => a.localeCompare(b))),
      links: span.links.map((link) => [link.context.traceId, link.context.spanId, link.attributes]),
      events: span.events.map((event) => event.name),
    });
  for (const [name, library, floor] of pairs) {
    exporter.reset();
    await library();
    await floor();
    const [ofLibrary, ofFloor] = exporter.getFinishedSpans().map(shape);
    if (ofLibrary !== ofFloor) throw new Error(`${name} is not like for like:\n  library: ${ofLibrary}\n  floor:   ${ofFloor}`);
  }
}

await checkLikeForLike();
const only = values.only?.split(',');
// --before=DIR: the same library cases against an earlier build (a copy of dist/), interleaved with today's in one process.
const BEFORE_CASES = values.before ? libCases(await loadLib(resolve(values.before)), '@before') : [];
const candidates = [...CASES, ...BEFORE_CASES];
const selected = only ? candidates.filter((c) => only.includes(c.key.replace(/@before$/, ''))) : candidates;
for (const { call } of selected) await cpuMicrosPerCall(call, ITERATIONS / 5); // warm-up
const samples = new Map<string, number[]>(selected.map(({ key }) => [key, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [...selected].reverse() : selected;
  for (const { key, call } of order) samples.get(key)!.push(await cpuMicrosPerCall(call, ITERATIONS));
}
const results = selected.map(({ key, label }) => ({ key, label, micros: median(samples.get(key)!), least: Math.min(...samples.get(key)!) }));
if (values.table) {
  console.log(' median    least  case');
  for (const { key, label, micros, least } of results) {
    console.log(`${micros.toFixed(2).padStart(7)}  ${least.toFixed(2).padStart(7)}  ${key.padEnd(34)} ${label}`);
  }
} else {
  process.stdout.write(JSON.stringify(results));
}
