// Where the per-job time goes without Redis: the library's wrapper and its parts,
// against a bare span, in CPU microseconds per call. Runs in its own process for a
// clean global state; every case is measured in interleaved rounds (in alternating
// order), and the median and the least are printed, as JSON, in the order of CASES.
// On a shared machine, interference only adds time: the least is the steadier figure.
//   node bench/dist/micro.js [--iterations=N] [--rounds=R] [--only=key,key] [--prototypes] [--table]
// --prototypes adds the phase-2 candidates of issue 9 (prototype/task-tracer-prototype.ts).
import { type Attributes, context, createContextKey, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Job, Queue } from 'bullmq';
import { ContextualTaskSpan, DefaultTaskSpan, LevelFilter, type MakeSpan, SpanLevel, TracedQueue } from 'nestjs-job-tracing';
import { parseArgs } from 'node:util';
import { CountingExporter } from './counting-exporter.js';
import { type PrototypeSwitches, TaskTracerPrototype } from './prototype/task-tracer-prototype.js';
// Internal on purpose: this measures the per-job layer itself, which the package does not export.
import { readStoredContext, serializeContext, withStoredContext } from '../../dist/context/stored-trace-context.js';
import { JobTracingExplorer } from '../../dist/job-tracing.explorer.js';
import { TaskTracer } from '../../dist/tracing/task-tracer.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
    prototypes: { type: 'boolean', default: false },
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

const tracer = trace.getTracer('micro');
const quietLogger = { error() {}, warn() {}, log() {} };
const infoFilter = LevelFilter.parse('info');
const debugFilter = LevelFilter.parse('debug');
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const jobWith = (metadata?: string) =>
  ({
    id: '42',
    queueName: 'micro',
    attemptsMade: 0,
    data: {},
    opts: metadata === undefined ? {} : { telemetry: { metadata } },
  }) as unknown as Job;
const job = jobWith(JSON.stringify({ traceparent: TRACEPARENT }));
const jobWithTraceState = jobWith(JSON.stringify({ traceparent: TRACEPARENT, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' }));
const handler = async () => 'done';
const taskAttributes = (): Attributes => ({
  task_id: job.id,
  attempt: job.attemptsMade + 1,
  'messaging.system': 'bullmq',
  'messaging.operation.type': 'process',
  'messaging.destination.name': job.queueName,
  'messaging.message.id': job.id,
});

const taskTracer = new TaskTracer(tracer, infoFilter, quietLogger);
const noEventsTracer = new TaskTracer(tracer, infoFilter, quietLogger, { onStart() {}, onSuccess() {} });
const traced = (tracerToUse: { run: TaskTracer['run'] }, makeSpan: MakeSpan) => () =>
  tracerToUse.run(makeSpan, job, ROOT_CONTEXT, handler);
const prototype = (switches: PrototypeSwitches, filter = infoFilter) => new TaskTracerPrototype(tracer, filter, quietLogger, switches);
const ALL_SWITCHES: PrototypeSwitches = {
  queueConstants: true,
  storedContextObject: true,
  levelCheckFirst: true,
  eventsAtDebug: true,
  noHookClosures: true,
};
const SCRATCH_KEY = createContextKey('micro scratch');
// Events on one long-lived span: the SDK keeps the latest 128 and counts the others dropped, at the same cost per event.
const eventSpan = tracer.startSpan('events');
const defaultSpan = new DefaultTaskSpan();
const contextualSpan = new ContextualTaskSpan();
const debugSpan = new DefaultTaskSpan({ level: SpanLevel.DEBUG });

// The enqueue side against a stand-in for Queue.add that resolves at once: the wrapper's cost only.
const standInQueue = { name: 'micro', add: async () => ({ id: '1' }), addBulk: async () => [] } as unknown as Queue;
const tracedQueue = new TracedQueue(standInQueue);
const tracedQueueNoSpan = new TracedQueue(standInQueue, { producerSpan: false });
const producerAttributes = (): Attributes => ({
  'messaging.system': 'bullmq',
  'messaging.operation.type': 'send',
  'messaging.destination.name': 'micro',
  'messaging.operation.name': 'add',
});
const spanContext = () => trace.setSpan(ROOT_CONTEXT, tracer.startSpan('producer'));
const activeSpanContext = spanContext();

// Request-scoped processors: @nestjs/bullmq decorates the processor again for every job.
const explorer = new JobTracingExplorer(
  undefined as never,
  { getProviders: () => [] } as never,
  undefined as never,
  taskTracer,
  {},
);
const processor = async (_job: Job) => 'done';

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
  {
    key: 'floorAttributes',
    label: 'floor + the 6 task attributes',
    call: () => {
      const span = tracer.startSpan('task', { kind: SpanKind.CONSUMER, attributes: taskAttributes() });
      return context.with(trace.setSpan(ROOT_CONTEXT, span), handler).finally(() => span.end());
    },
  },
  {
    key: 'floorAttributesEvents',
    label: 'floor + 6 attributes + 2 events',
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
  { key: 'eventOnly', label: 'part: one span event with one attribute', call: () => eventSpan.addEvent('task.done', { latency_ms: 1 }) },
  { key: 'defaultTaskSpan', label: 'TaskTracer.run, DefaultTaskSpan', call: traced(taskTracer, defaultSpan) },
  { key: 'defaultNoEvents', label: 'TaskTracer.run, DefaultTaskSpan, no-op onStart/onSuccess', call: traced(noEventsTracer, defaultSpan) },
  { key: 'defaultFiltered', label: 'TaskTracer.run, DEBUG span under an INFO filter (not recorded)', call: traced(taskTracer, debugSpan) },
  { key: 'contextualTaskSpan', label: 'TaskTracer.run, ContextualTaskSpan', call: traced(taskTracer, contextualSpan) },
  // Reading the stored context.
  { key: 'jsonParse', label: 'JSON.parse of the stored context', call: () => JSON.parse((job.opts.telemetry as { metadata: string }).metadata) },
  { key: 'readStoredContext', label: 'readStoredContext, traceparent only', call: () => readStoredContext(job) },
  { key: 'readStoredContextTraceState', label: 'readStoredContext, traceparent + tracestate', call: () => readStoredContext(jobWithTraceState) },
  // The enqueue side.
  { key: 'plainAdd', label: 'enqueue: stand-in Queue.add', call: () => standInQueue.add('job', {}) },
  { key: 'tracedAdd', label: 'enqueue: TracedQueue.add (producer span)', call: () => tracedQueue.add('job', {}) },
  { key: 'tracedAddNoSpan', label: 'enqueue: TracedQueue.add, producerSpan: false', call: () => tracedQueueNoSpan.add('job', {}) },
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
  { key: 'serializeContext', label: 'enqueue part: serializeContext', call: () => serializeContext(activeSpanContext) },
  { key: 'withStoredContext', label: 'enqueue part: withStoredContext', call: () => withStoredContext(undefined, '{"traceparent":"x"}') },
  // Request-scoped processors.
  { key: 'decoratePerJob', label: 'request-scoped: explorer.decorate per job', call: () => explorer.decorate(processor) },
  {
    key: 'defineLength',
    label: 'request-scoped part: defineProperty(length) on a new closure',
    call: () => Object.defineProperty((_job: Job) => processor(_job), 'length', { value: 1 }),
  },
];
// Phase-2 candidates for task-tracer.ts, each alone, then all together.
const PROTOTYPE_CASES: Case[] = [
  ...prototypeCases('default', defaultSpan),
  ...prototypeCases('contextual', contextualSpan),
  { key: 'protoFilteredAsToday', label: 'prototype, not recorded (DEBUG span, INFO filter), as today', call: traced(prototype({}), debugSpan) },
  { key: 'protoFilteredLevelFirst', label: 'prototype, not recorded, levelCheckFirst', call: traced(prototype({ levelCheckFirst: true }), debugSpan) },
  { key: 'protoDefaultDebugFilterAll', label: 'prototype, DefaultTaskSpan, DEBUG filter (events kept), all switches', call: traced(prototype(ALL_SWITCHES, debugFilter), defaultSpan) },
];

function prototypeCases(name: string, makeSpan: MakeSpan): Case[] {
  const variants: Array<[string, PrototypeSwitches]> = [
    ['AsToday', {}],
    ['QueueConstants', { queueConstants: true }],
    ['StoredContextObject', { storedContextObject: true }],
    ['NoHookClosures', { noHookClosures: true }],
    ['EventsAtDebug', { eventsAtDebug: true }],
    ['All', ALL_SWITCHES],
  ];
  return variants.map(([variant, switches]) => ({
    key: `proto${name[0].toUpperCase()}${name.slice(1)}${variant}`,
    label: `prototype, ${name}: ${variant === 'AsToday' ? 'as today' : variant === 'All' ? 'all switches' : Object.keys(switches).join(', ')}`,
    call: traced(prototype(switches), makeSpan),
  }));
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

const only = values.only?.split(',');
const candidates = values.prototypes ? [...CASES, ...PROTOTYPE_CASES] : CASES;
const selected = only ? candidates.filter((c) => only.includes(c.key)) : candidates;
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
