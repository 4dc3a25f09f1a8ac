import { afterEach, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { SpanStatusCode } from '@opentelemetry/api';
import { Test } from '@nestjs/testing';
import type { Job, Queue, Worker } from 'bullmq';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { queueOf, redisConnection, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();
const untracedApps: INestApplicationContext[] = [];
afterEach(async () => {
  await Promise.all(untracedApps.splice(0).map((app) => app.close()));
});

/** What BullMQ kept of a job: compared between the same processor with and without the library. */
interface Outcome {
  state: string;
  failedReason?: string;
  attemptsMade: number;
  returnvalue: unknown;
}

/** The job's outcome once it completed or failed, or its state after `patienceMs` if it does neither. */
async function settled(queue: Queue, jobId: string, patienceMs: number): Promise<Outcome> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    const jobState = await queue.getJobState(jobId);
    if (jobState === 'completed' || jobState === 'failed' || Date.now() > deadline) {
      const job = (await queue.getJob(jobId))!;
      return { state: jobState, failedReason: job.failedReason, attemptsMade: job.attemptsMade, returnvalue: job.returnvalue };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

type Behaviour = (job: Job, token: string | undefined, signal: AbortSignal | undefined) => unknown;

/**
 * Runs `behaviour` as a Nest processor twice, on two queues: in an app with
 * JobTracingModule and in one without. Returns both outcomes, and the traced task spans.
 */
async function withAndWithoutTracing(
  name: string,
  behaviour: Behaviour,
  opts: object,
  { whileActive, attempts, patienceMs = 20_000 }: { whileActive?: (worker: Worker, job: Job) => Promise<void>; attempts?: number; patienceMs?: number } = {},
) {
  const traced = uniqueQueueName(`${name}-traced`);
  const untraced = uniqueQueueName(`${name}-untraced`);
  const processorFor = (queueName: string) => {
    @Processor(queueName)
    class FaultyProcessor extends WorkerHost {
      // Not async: a synchronous throw must stay one. Three parameters: BullMQ passes a signal only when asked.
      process(job: Job, token?: string, signal?: AbortSignal) {
        return behaviour(job, token, signal) as Promise<unknown>;
      }
    }
    return FaultyProcessor;
  };
  const TracedProcessor = processorFor(traced);
  state.app = await startApp({ imports: [BullModule.registerQueue({ name: traced })], providers: [TracedProcessor] });
  const UntracedProcessor = processorFor(untraced);
  const untracedApp = await (
    await Test.createTestingModule({
      imports: [BullModule.forRoot({ connection: redisConnection() }), BullModule.registerQueue({ name: untraced })],
      providers: [UntracedProcessor],
    }).compile()
  ).init();
  untracedApps.push(untracedApp);

  const outcomes: Outcome[] = [];
  for (const [app, queueName, Processor] of [
    [state.app, traced, TracedProcessor],
    [untracedApp, untraced, UntracedProcessor],
  ] as const) {
    const queue = queueOf(app, queueName);
    const job = await queue.add('job', { secret: 'never in a span' }, opts);
    if (whileActive) await whileActive(app.get(Processor).worker, job);
    outcomes.push(await settled(queue, job.id!, patienceMs));
  }
  const [withLibrary, withoutLibrary] = outcomes;
  const expectedSpans = attempts ?? withLibrary.attemptsMade;
  const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', traced).length === expectedSpans);
  const tasks = spansNamed(spans, 'task', traced).sort((a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt));
  return { withLibrary, withoutLibrary, tasks };
}

const TWO_ATTEMPTS = { attempts: 2 };

describe('a processor that fails in unusual ways: the span says so, the job’s outcome is unchanged', () => {
  it.each<[string, Behaviour, string, string]>([
    ['throws synchronously', () => { throw new TypeError('sync boom'); }, 'TypeError', 'sync boom'],
    ['throws a string', () => { throw 'a string'; }, '_OTHER', 'a string'],
    ['throws a plain object', () => { throw { code: 42 }; }, '_OTHER', '[object Object]'],
    ['rejects with a non-Error', () => Promise.reject(17), '_OTHER', '17'],
  ])('that %s', async (name, behaviour, errorType, statusMessage) => {
    const { withLibrary, withoutLibrary, tasks } = await withAndWithoutTracing(name.replace(/ /g, '-'), behaviour, TWO_ATTEMPTS);
    expect(withLibrary).toEqual(withoutLibrary);
    expect(withLibrary).toMatchObject({ state: 'failed', attemptsMade: 2 });
    expect(tasks.map((task) => task.attributes.attempt)).toEqual([1, 2]);
    for (const task of tasks) {
      expect(task.ended).toBe(true);
      expect(task.status).toEqual({ code: SpanStatusCode.ERROR, message: statusMessage });
      expect(task.attributes['error.type']).toBe(errorType);
      expect(task.events.map((event) => event.name)).toEqual(expect.arrayContaining(['exception', 'task.failed']));
    }
  });

  it('that throws undefined: the span fails, and the job stays active as it does without the library', async () => {
    // bullmq 6.7's worker reads `err.message` of what the processor threw, so `undefined` breaks its
    // failure handling: the job stays active until its lock expires, with or without this library.
    const { withLibrary, withoutLibrary, tasks } = await withAndWithoutTracing(
      'throws-undefined',
      () => {
        throw undefined;
      },
      TWO_ATTEMPTS,
      { attempts: 1, patienceMs: 2_000 },
    );
    expect(withLibrary).toEqual(withoutLibrary);
    expect(withLibrary).toMatchObject({ state: 'active', attemptsMade: 0 });
    const [task] = tasks;
    expect(task.ended).toBe(true);
    expect(task.attributes.attempt).toBe(1);
    expect(task.status).toEqual({ code: SpanStatusCode.ERROR, message: 'undefined' });
    expect(task.attributes['error.type']).toBe('_OTHER');
  });

  it('that is cancelled through BullMQ’s AbortSignal (worker.cancelJob)', async () => {
    const running = new Set<string>();
    const { withLibrary, withoutLibrary, tasks } = await withAndWithoutTracing(
      'cancelled',
      (job, _token, signal) =>
        new Promise((resolve, reject) => {
          running.add(job.queueName);
          signal!.addEventListener('abort', () => reject(new DOMException(`cancelled: ${signal!.reason}`, 'AbortError')));
          setTimeout(resolve, 15_000);
        }),
      {},
      {
        whileActive: async (worker, job) => {
          while (!running.has(job.queueName)) await new Promise((resolve) => setTimeout(resolve, 20));
          expect(worker.cancelJob(job.id!, 'by the user')).toBe(true);
        },
      },
    );
    expect(withLibrary).toEqual(withoutLibrary);
    expect(withLibrary).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: 'cancelled: by the user' });
    const [task] = tasks;
    expect(task.attributes.attempt).toBe(1);
    expect(task.status).toEqual({ code: SpanStatusCode.ERROR, message: 'cancelled: by the user' });
    expect(task.attributes['error.type']).toBe('AbortError');
  });
});
