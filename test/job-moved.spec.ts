import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import {
  DelayedError,
  type Job,
  type Queue,
  RateLimitError,
  UnrecoverableError,
  WaitingChildrenError,
  WaitingError,
} from 'bullmq';
import { isJobMoved, jobMovedBy } from '../lib/tracing/job-moved.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

const eventNames = (span: ReadableSpan) => span.events.map((event) => event.name);
const byStart = (spans: ReadableSpan[]) =>
  [...spans].sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);

/** A moved attempt's span: ended, not an error, and saying where the job went. */
function expectMoved(span: ReadableSpan, movedTo: string): void {
  expect(span.ended).toBe(true);
  expect(span.status.code).toBe(SpanStatusCode.UNSET);
  expect(span.attributes['error.type']).toBeUndefined();
  expect(eventNames(span)).not.toContain('exception');
  expect(eventNames(span)).not.toContain('task.failed');
  expect(span.attributes['messaging.bullmq.job.moved_to']).toBe(movedTo);
  expect(span.events.find((event) => event.name === 'task.moved')?.attributes?.moved_to).toBe(movedTo);
}

function expectDone(span: ReadableSpan): void {
  expect(span.status.code).toBe(SpanStatusCode.UNSET);
  expect(eventNames(span)).toContain('task.done');
  expect(span.attributes['messaging.bullmq.job.moved_to']).toBeUndefined();
}

/** Starts an app whose processor is `process`, adds one job, returns it with the task spans of `expectedSpans` attempts. */
async function runOne(
  queueName: string,
  process: (job: Job, token: string | undefined, worker: WorkerHost['worker']) => Promise<unknown>,
  expectedSpans: number,
  opts: Parameters<Queue['add']>[2] = {},
) {
  @Processor(queueName)
  class MovingProcessor extends WorkerHost {
    async process(job: Job, token?: string) {
      return process(job, token, this.worker);
    }
  }
  // At DEBUG, so the completed attempt's task.done event shows beside the moved one's task.moved.
  state.app = await startApp({
    tracing: { level: `info,${queueName}=debug` },
    imports: [BullModule.registerQueue({ name: queueName })],
    providers: [MovingProcessor],
  });
  const job = await queueOf(state.app, queueName).add('job', {}, opts);
  const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === expectedSpans, 20_000);
  return { job, tasks: byStart(spansNamed(spans, 'task', queueName)) };
}

describe('BullMQ control-flow errors end the attempt’s span as a move, not a failure', () => {
  it('DelayedError: the span says until when, and the job completes later', async () => {
    const queueName = uniqueQueueName('moved-delayed');
    let delayedAt = 0;
    const { job, tasks } = await runOne(
      queueName,
      async (job, token) => {
        if (delayedAt === 0) {
          delayedAt = Date.now();
          await job.moveToDelayed(delayedAt + 500, token);
          throw new DelayedError();
        }
        return 'done after the delay';
      },
      2,
    );
    expect(await finished(job, 20_000)).toBe('done after the delay');
    const [moved, done] = tasks;
    expectMoved(moved, 'delayed');
    const event = moved.events.find((candidate) => candidate.name === 'task.moved')!;
    expect(event.attributes?.delay_ms).toBeGreaterThan(0);
    expect(event.attributes?.delay_ms).toBeLessThanOrEqual(500);
    const until = moved.attributes['messaging.bullmq.job.delayed_until'] as number;
    // moveToDelayed computes the delay from its own clock: until is the requested time, to within the call's duration.
    expect(Math.abs(until - (delayedAt + 500))).toBeLessThan(1_000);
    expect(new Date(event.attributes?.delayed_until as string).getTime()).toBe(until);
    expectDone(done);
    expect((await queueOf(state.app!, queueName).getJob(job.id!))!.attemptsMade).toBe(1);
  });

  it('RateLimitError: the job goes back to wait, then completes', async () => {
    const queueName = uniqueQueueName('moved-rate-limited');
    let limited = false;
    const { job, tasks } = await runOne(
      queueName,
      async (_job, _token, worker) => {
        if (!limited) {
          limited = true;
          await worker.rateLimit(300);
          throw new RateLimitError();
        }
        return 'done after the limit';
      },
      2,
    );
    expect(await finished(job, 20_000)).toBe('done after the limit');
    expectMoved(tasks[0], 'rate-limited');
    expectDone(tasks[1]);
  });

  it('WaitingChildrenError: a parent waits for the child it added, then completes', async () => {
    const queueName = uniqueQueueName('moved-parent');
    const { job, tasks } = await runOne(
      queueName,
      async (job, token) => {
        if (job.name === 'child') return 'child done';
        if (job.data.step !== 'waiting') {
          await queueOf(state.app!, queueName).add('child', {}, { parent: { id: job.id!, queue: job.queueQualifiedName } });
          await job.updateData({ step: 'waiting' });
          if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
        }
        return { parent: 'done', children: Object.values(await job.getChildrenValues()) };
      },
      3,
    );
    expect(await finished(job, 20_000)).toEqual({ parent: 'done', children: ['child done'] });
    const parentTasks = tasks.filter((task) => task.attributes.task_id === job.id);
    const childTasks = tasks.filter((task) => task.attributes.task_id !== job.id);
    expect(parentTasks).toHaveLength(2);
    expectMoved(parentTasks[0], 'waiting-children');
    expectDone(parentTasks[1]);
    expect(childTasks).toHaveLength(1);
    expectDone(childTasks[0]);
  });

  it('WaitingError: the job goes back to wait, then completes', async () => {
    const queueName = uniqueQueueName('moved-wait');
    let waited = false;
    const { job, tasks } = await runOne(
      queueName,
      async (job, token) => {
        if (!waited) {
          waited = true;
          await job.moveToWait(token);
          throw new WaitingError();
        }
        return 'done after waiting';
      },
      2,
    );
    expect(await finished(job, 20_000)).toBe('done after waiting');
    expectMoved(tasks[0], 'wait');
    expectDone(tasks[1]);
  });

  it('UnrecoverableError stays a failure: ERROR status, exception, task.failed, no retry', async () => {
    const queueName = uniqueQueueName('unrecoverable');
    const { job, tasks } = await runOne(
      queueName,
      async () => {
        throw new UnrecoverableError('give up');
      },
      1,
      { attempts: 3 },
    );
    await expect(finished(job, 20_000)).rejects.toThrow('give up');
    const [failed] = tasks;
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'give up' });
    expect(failed.attributes['error.type']).toBe('UnrecoverableError');
    expect(eventNames(failed)).toEqual(expect.arrayContaining(['exception', 'task.failed']));
    expect(failed.attributes['messaging.bullmq.job.moved_to']).toBeUndefined();
    expect((await queueOf(state.app!, queueName).getJob(job.id!))!.attemptsMade).toBe(1);
  });
});

describe('isJobMoved, the one predicate for spans and metrics', () => {
  class OtherCopyDelayedError extends Error {
    override name = 'DelayedError';
  }
  class MyDelay extends DelayedError {}

  it.each([
    ['DelayedError', new DelayedError(), 'delayed'],
    ['WaitingChildrenError', new WaitingChildrenError(), 'waiting-children'],
    ['WaitingError', new WaitingError(), 'wait'],
    ['RateLimitError', new RateLimitError(), 'rate-limited'],
    ['any error with the rate-limit message', new Error('bullmq:rateLimitExceeded'), 'rate-limited'],
    ['a DelayedError from another copy of bullmq (matched by name)', new OtherCopyDelayedError(), 'delayed'],
    ['a subclass of DelayedError (matched by class)', new MyDelay(), 'delayed'],
  ])('%s is a move', (_case, error, movedTo) => {
    expect(jobMovedBy(error)).toBe(movedTo);
    expect(isJobMoved(error)).toBe(true);
  });

  it.each([
    ['UnrecoverableError', new UnrecoverableError()],
    ['an Error', new Error('boom')],
    ['a string', 'DelayedError'],
    ['undefined', undefined],
    ['null', null],
    ['an object named __proto__', { name: '__proto__' }],
    ['an object named constructor', { name: 'constructor' }],
  ])('%s is not a move', (_case, error) => {
    expect(isJobMoved(error)).toBe(false);
  });
});
