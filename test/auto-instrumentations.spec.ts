import { describe, expect, it } from '@jest/globals';
import {
  type ExportedSpan,
  redisSpanFigures,
  runScenario,
  type Scenario,
  type ScenarioOutput,
} from './support/auto-instrumented-run.js';
import { uniqueQueueName } from './support/queues.js';

// instrumentation-ioredis preloaded with `node --import` in a producer process and two worker
// processes, as users run it; 100 jobs through TracedQueue, every 10th failing its first attempt.
const JOBS = 100;
const ATTEMPTS = 110;
const MARKER = 'payload-marker-7f3a9c';

const allSpans = (output: ScenarioOutput): ExportedSpan[] => [...output.producerSpans, ...output.workers.flatMap((worker) => worker.spans)];

async function run(scenario: Omit<Scenario, 'jobs' | 'marker' | 'queueName'>): Promise<ScenarioOutput> {
  const output = await runScenario({ ...scenario, jobs: JOBS, marker: MARKER, queueName: uniqueQueueName('auto-instrumented') });
  // PRINT_FIGURES=1: the counts docs/auto-instrumentations.md quotes.
  if (process.env.PRINT_FIGURES) printFigures(scenario, output);
  return output;
}

function printFigures(scenario: object, output: ScenarioOutput): void {
  const spans = allSpans(output);
  const { userGets, internal, connection } = redisSpanFigures(spans);
  const count = (list: ExportedSpan[]) => list.reduce<Record<string, number>>((counts, span) => ({ ...counts, [span.name]: (counts[span.name] ?? 0) + 1 }), {});
  const roots = spans.filter((span) => !span.parentSpanId);
  console.log(JSON.stringify({
    ...scenario,
    spans: spans.length,
    rootTraces: roots.length,
    userGets: userGets.length,
    internal: count(internal),
    internalRoots: internal.filter((span) => !span.parentSpanId).length,
    connection: count(connection),
    withMarker: spans.filter((span) => JSON.stringify(span).includes(MARKER)).length,
    bullmq: count(spans.filter((span) => span.scope === 'bullmq')),
  }));
}

function expectTheUsersTrace(output: ScenarioOutput): void {
  const spans = allSpans(output);
  const tasks = spans.filter((span) => span.name === 'task');
  expect(tasks).toHaveLength(ATTEMPTS);
  // Producer and workers are three processes, and both workers ran jobs.
  const workerPids = output.workers.map((worker) => worker.pid);
  expect(new Set([output.producerPid, ...workerPids]).size).toBe(3);
  for (const worker of output.workers) expect(worker.spans.filter((span) => span.name === 'task').length).toBeGreaterThan(0);

  // Every task span is in its producer's trace.
  const sendByJob = new Map(
    output.producerSpans.filter((span) => span.name.startsWith('send ')).map((span) => [String(span.attributes['messaging.message.id']), span]),
  );
  expect(sendByJob.size).toBe(JOBS);
  for (const task of tasks) expect(task.traceId).toBe(sendByJob.get(String(task.attributes.task_id))!.traceId);

  // One GET per attempt, each under its attempt's task span.
  const { userGets } = redisSpanFigures(spans);
  expect(userGets).toHaveLength(ATTEMPTS);
  const taskBySpanId = new Map(tasks.map((task) => [task.spanId, task]));
  for (const get of userGets) {
    const task = taskBySpanId.get(get.parentSpanId!);
    expect(task).toBeDefined();
    expect(JSON.stringify(get.attributes)).toContain(`user-key:${task!.attributes.task_id}`);
  }
}

function expectNoPayload(output: ScenarioOutput): void {
  const withMarker = allSpans(output).filter((span) => JSON.stringify(span).includes(MARKER));
  expect(withMarker).toEqual([]);
}

describe('with instrumentation-ioredis preloaded: BullMQ kept out of the trace', () => {
  for (const requireParentSpan of [true, false]) {
    for (const bullmqOtel of [false, true]) {
      it(`requireParentSpan ${requireParentSpan}${bullmqOtel ? ', bullmq-otel beside' : ''}: no internal Redis span, no payload, the user's GETs under their tasks`, async () => {
        const output = await run({ requireParentSpan, bullmqOtel, traceBullmqCommands: false });
        const figures = redisSpanFigures(allSpans(output));
        expect(figures.internal.map((span) => span.name)).toEqual([]);
        // Connections are made at start and quit at close, not per job: about 50 here, for 9 connections.
        expect(figures.connection.length).toBeLessThan(JOBS);
        expectNoPayload(output);
        expectTheUsersTrace(output);
        if (bullmqOtel) {
          // bullmq-otel's own consumer spans stay, one per attempt, in the producer's trace.
          const processSpans = allSpans(output).filter((span) => span.scope === 'bullmq' && span.name.startsWith('process '));
          expect(processSpans).toHaveLength(ATTEMPTS);
        }
      }, 120_000);
    }

    it(`requireParentSpan ${requireParentSpan}, traceBullmqCommands: true: BullMQ's commands are traced as before`, async () => {
      const output = await run({ requireParentSpan, bullmqOtel: false, traceBullmqCommands: true });
      const { internal } = redisSpanFigures(allSpans(output));
      const evalshaUnderSend = internal.filter((span) => span.name === 'evalsha' && output.producerSpans.some((send) => send.spanId === span.parentSpanId && send.name.startsWith('send ')));
      expect(evalshaUnderSend).toHaveLength(JOBS);
      // The add script's arguments hold the job's data.
      expect(allSpans(output).filter((span) => JSON.stringify(span).includes(MARKER)).length).toBeGreaterThanOrEqual(JOBS);
      if (!requireParentSpan) {
        // The worker loop's and move commands, and the retry links' LRANGE, as root traces: about 2 to 4 per job.
        expect(internal.length).toBeGreaterThan(1.5 * JOBS);
        expect(internal.filter((span) => span.name === 'lrange')).toHaveLength(ATTEMPTS - JOBS);
      }
      expectTheUsersTrace(output);
    }, 120_000);
  }
});

describe('worker events in the job trace, in two worker processes', () => {
  it('completed and failed handlers and worker.on listeners see their attempt: span, fields, log lines; their spans join its trace', async () => {
    const output = await run({ requireParentSpan: true, bullmqOtel: false, traceBullmqCommands: false });
    const tasks = output.workers.flatMap((worker) => worker.spans.filter((span) => span.name === 'task'));
    const taskOf = (jobId: string, attempt: number) =>
      tasks.find((task) => String(task.attributes.task_id) === jobId && task.attributes.attempt === attempt)!;

    for (const worker of output.workers) {
      expect(worker.events.length).toBeGreaterThan(0);
      const handlerSpans = new Map(worker.spans.filter((span) => span.name.startsWith('on ')).map((span) => [span.spanId, span]));
      for (const event of worker.events) {
        const attempt = event.event === 'failed' || Number(event.jobId) % 10 !== 0 ? 1 : 2;
        const task = taskOf(event.jobId, attempt);
        expect(event.activeSpanId).toBe(task.spanId);
        expect(event.fields).toMatchObject({ task_id: event.jobId, attempt, trace_id: task.traceId, span_id: task.spanId });
        // A span started in the handler is a child of the attempt's (ended) span.
        const handlerSpan = handlerSpans.get(event.handlerSpan.spanId)!;
        expect(handlerSpan.traceId).toBe(task.traceId);
        expect(handlerSpan.parentSpanId).toBe(task.spanId);
      }
      // TaskLogger lines written in handlers carry the task's fields.
      expect(worker.logLines).toHaveLength(worker.events.length);
      for (const line of worker.logLines) expect(line).toMatch(/task\{task_id=\d+ attempt=[12] trace_id=[0-9a-f]{32} /);
    }
    const events = output.workers.flatMap((worker) => worker.events);
    expect(events.filter((event) => event.source === 'OnWorkerEvent' && event.event === 'failed')).toHaveLength(ATTEMPTS - JOBS);
    expect(events.filter((event) => event.source === 'OnWorkerEvent' && event.event === 'completed')).toHaveLength(JOBS);
    expect(events.filter((event) => event.source === 'worker.on' && event.event === 'completed')).toHaveLength(JOBS);
  }, 120_000);
});
