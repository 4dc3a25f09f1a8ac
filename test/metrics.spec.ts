import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { DataPointType, type Histogram } from '@opentelemetry/sdk-metrics';
import { type Job, Queue } from 'bullmq';
import { getTracedQueueToken, JobTracingModule, type JobTracingModuleOptions, TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { type MetricsHarness, metricNamed, pointsFor, setupMetrics } from './support/metrics.js';
import { finished, queueOf, redisConnection, serverAttributes, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const state = useTracingPerTest();
let harness: MetricsHarness;
beforeAll(() => {
  harness = setupMetrics();
});

class FlakyError extends Error {
  override name = 'FlakyError';
}

/** An app whose processor on `queueName` fails the first attempt of jobs named `flaky`, and a TracedQueue to it. */
async function startQueueApp(queueName: string, tracing: JobTracingModuleOptions = {}) {
  @Processor(queueName)
  class FlakyProcessor extends WorkerHost {
    async process(job: Job) {
      if (job.name === 'flaky' && job.attemptsMade === 0) throw new FlakyError('first attempt fails');
      return 'done';
    }
  }
  state.app = await startApp({
    tracing,
    imports: [BullModule.registerQueue({ name: queueName }), JobTracingModule.forFeature(queueName)],
    providers: [FlakyProcessor],
  });
  return state.app.get<TracedQueue>(getTracedQueueToken(queueName));
}

// The test Redis is a single host: `server.address` (conditionally required on the messaging metrics) and `server.port`.
const SERVER = serverAttributes;

const SUCCEEDED = (queueName: string) => ({
  'messaging.system': 'bullmq',
  'messaging.operation.name': 'process',
  'messaging.destination.name': queueName,
  ...SERVER(),
});

describe('consumer metrics', () => {
  it('records process duration, consumed messages and wait per attempt, with error.type on the failed one', async () => {
    const queueName = uniqueQueueName('metrics');
    const traced = await startQueueApp(queueName);
    const flaky = await traced.add('flaky', { secret: 'x' }, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
    const steady = await traced.add('steady', {});
    await finished(flaky);
    await finished(steady);

    const collected = await harness.collect();
    const duration = metricNamed(collected, 'messaging.process.duration')!;
    expect(duration.descriptor).toMatchObject({ unit: 's', advice: { explicitBucketBoundaries: BUCKETS } });
    expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
    const durationPoints = pointsFor<Histogram>(collected, 'messaging.process.duration', queueName);
    expect(durationPoints.map((point) => [point.attributes, point.value.count])).toEqual(
      expect.arrayContaining([
        [SUCCEEDED(queueName), 2], // the steady job, and the flaky job's second attempt
        [{ ...SUCCEEDED(queueName), 'error.type': 'FlakyError' }, 1],
      ]),
    );
    expect(durationPoints).toHaveLength(2);
    expect(durationPoints[0].value.buckets.boundaries).toEqual(BUCKETS);

    const consumed = metricNamed(collected, 'messaging.client.consumed.messages')!;
    expect(consumed.descriptor).toMatchObject({ unit: '{message}' });
    expect(consumed.dataPointType).toBe(DataPointType.SUM);
    expect(pointsFor(collected, 'messaging.client.consumed.messages', queueName).map((p) => [p.attributes, p.value])).toEqual(
      expect.arrayContaining([
        [SUCCEEDED(queueName), 2],
        [{ ...SUCCEEDED(queueName), 'error.type': 'FlakyError' }, 1],
      ]),
    );

    const wait = metricNamed(collected, 'messaging.bullmq.job.wait.duration')!;
    expect(wait.descriptor.unit).toBe('s');
    const [waitPoint] = pointsFor<Histogram>(collected, 'messaging.bullmq.job.wait.duration', queueName);
    expect(waitPoint.attributes).toEqual({ 'messaging.system': 'bullmq', 'messaging.destination.name': queueName, ...SERVER() });
    expect(waitPoint.value.count).toBe(2); // one per job: a retry's wait is its planned backoff, not backlog

    // Nothing unbounded: no job id, job name or payload in any attribute set.
    const everyAttribute = JSON.stringify(collected.flatMap((metric) => metric.dataPoints.map((p) => p.attributes)));
    for (const unbounded of ['flaky', 'steady', 'secret', `"${flaky.id}"`]) expect(everyAttribute).not.toContain(unbounded);
  });

  it('records the wait from when a delayed job became ready, not from when it was added', async () => {
    const queueName = uniqueQueueName('metrics-delay');
    const traced = await startQueueApp(queueName);
    const job = await traced.add('steady', {}, { delay: 1_000 });
    await finished(job);

    const stored = (await queueOf(state.app!, queueName).getJob(job.id!))!;
    const [waitPoint] = pointsFor<Histogram>(await harness.collect(), 'messaging.bullmq.job.wait.duration', queueName);
    expect(waitPoint.value.count).toBe(1);
    // Exactly BullMQ's own timestamps: processedOn - (timestamp + delay), in seconds.
    expect(waitPoint.value.sum).toBeCloseTo((stored.processedOn! - stored.timestamp - 1_000) / 1000, 6);
  });

  it('records attempts whose span the level filter drops', async () => {
    const queueName = uniqueQueueName('metrics-off');
    const traced = await startQueueApp(queueName, { level: `info,${queueName}=off` });
    await finished(await traced.add('steady', {}));

    const [point] = pointsFor<Histogram>(await harness.collect(), 'messaging.process.duration', queueName);
    expect(point.value.count).toBe(1);
    expect(spansNamed(state.exporter.getFinishedSpans(), 'task', queueName)).toHaveLength(0);
  });

  it('adds the job name only when asked to', async () => {
    const queueName = uniqueQueueName('metrics-name');
    const traced = await startQueueApp(queueName, { metricsJobName: true });
    await finished(await traced.add('steady', {}));

    const collected = await harness.collect();
    const [consumed] = pointsFor(collected, 'messaging.client.consumed.messages', queueName);
    expect(consumed.attributes).toEqual({ ...SUCCEEDED(queueName), 'messaging.bullmq.job.name': 'steady' });
    const [wait] = pointsFor(collected, 'messaging.bullmq.job.wait.duration', queueName);
    expect(wait.attributes).toEqual({
      'messaging.system': 'bullmq',
      'messaging.destination.name': queueName,
      'messaging.bullmq.job.name': 'steady',
      ...SERVER(),
    });
  });
});

describe('producer metrics', () => {
  it('counts the messages sent and times each add and addBulk', async () => {
    const queue = new Queue(uniqueQueueName('metrics-producer'), { connection: redisConnection() });
    try {
      const traced = new TracedQueue(queue);
      await traced.add('one', {});
      await traced.addBulk([
        { name: 'a', data: {} },
        { name: 'b', data: {} },
        { name: 'c', data: {} },
      ]);

      const collected = await harness.collect();
      const sendAttributes = (operationName: string) => ({
        'messaging.system': 'bullmq',
        'messaging.operation.name': operationName,
        'messaging.operation.type': 'send',
        'messaging.destination.name': queue.name,
        ...SERVER(),
      });
      expect(metricNamed(collected, 'messaging.client.sent.messages')!.descriptor.unit).toBe('{message}');
      expect(pointsFor(collected, 'messaging.client.sent.messages', queue.name).map((p) => [p.attributes, p.value])).toEqual(
        expect.arrayContaining([
          [sendAttributes('add'), 1],
          [sendAttributes('addBulk'), 3],
        ]),
      );
      const duration = metricNamed(collected, 'messaging.client.operation.duration')!;
      expect(duration.descriptor).toMatchObject({ unit: 's', advice: { explicitBucketBoundaries: BUCKETS } });
      const points = pointsFor<Histogram>(collected, 'messaging.client.operation.duration', queue.name);
      expect(points.map((p) => [p.attributes, p.value.count])).toEqual(
        expect.arrayContaining([
          [sendAttributes('add'), 1],
          [sendAttributes('addBulk'), 1],
        ]),
      );
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('records a failed add with its error.type', async () => {
    const queue = new Queue(uniqueQueueName('metrics-producer-fail'), { connection: redisConnection() });
    // Connected before the add fails, so close() finds a connection to close.
    await queue.waitUntilReady();
    try {
      // BullMQ rejects a job id that is only digits; nothing reaches Redis.
      await expect(new TracedQueue(queue).add('bad', {}, { jobId: '123' })).rejects.toThrow();
      const [point] = pointsFor(await harness.collect(), 'messaging.client.sent.messages', queue.name);
      expect(point.attributes['error.type']).toBe('Error');
      expect(point.value).toBe(1);
    } finally {
      await queue.close();
    }
  });
});

describe('queue state gauges', () => {
  async function seedQueue(queueName: string, tracing: JobTracingModuleOptions) {
    state.app = await startApp({ tracing, imports: [BullModule.registerQueue({ name: queueName })] });
    const queue = queueOf(state.app, queueName); // no processor: the jobs stay where they are
    await queue.add('a', {});
    await queue.add('b', {});
    await queue.add('c', {}, { delay: 60_000 });
    await queue.add('d', {}, { priority: 5 });
    return queue;
  }

  it('observes the jobs per state of every registered queue, read when the reader collects', async () => {
    const queueName = uniqueQueueName('metrics-gauge');
    const queue = await seedQueue(queueName, { queueMetrics: true });
    const reads = jest.spyOn(queue, 'getJobCounts');

    const collected = await harness.collect();
    expect(reads).toHaveBeenCalledTimes(1);
    const gauge = metricNamed(collected, 'messaging.bullmq.queue.jobs')!;
    expect(gauge.descriptor.unit).toBe('{job}');
    expect(gauge.dataPointType).toBe(DataPointType.GAUGE);
    for (const point of pointsFor(collected, 'messaging.bullmq.queue.jobs', queueName)) expect(point.attributes).toMatchObject(SERVER());
    const byState = Object.fromEntries(
      pointsFor(collected, 'messaging.bullmq.queue.jobs', queueName).map((p) => [p.attributes['messaging.bullmq.job.state'], p.value]),
    );
    expect(byState).toEqual({
      waiting: 2,
      prioritized: 1,
      'waiting-children': 0,
      active: 0,
      delayed: 1,
      failed: 0,
      completed: 0,
    });
    await queue.obliterate({ force: true });
  });

  it('observes only the named queues, and rejects a name no queue has', async () => {
    const named = uniqueQueueName('metrics-named');
    const other = uniqueQueueName('metrics-other');
    state.app = await startApp({
      tracing: { queueMetrics: [named] },
      imports: [BullModule.registerQueue({ name: named }, { name: other })],
    });
    const collected = await harness.collect();
    expect(pointsFor(collected, 'messaging.bullmq.queue.jobs', named)).toHaveLength(7);
    expect(pointsFor(collected, 'messaging.bullmq.queue.jobs', other)).toHaveLength(0);
    await state.app.close();
    state.app = undefined;

    await expect(
      startApp({ tracing: { queueMetrics: ['no-such-queue'] }, imports: [BullModule.registerQueue({ name: named })] }),
    ).rejects.toThrow('queueMetrics names the queue "no-such-queue", which no BullModule.registerQueue registers');
  });

  it('reads nothing from Redis without the option, and stops reading when the app closes', async () => {
    const queueName = uniqueQueueName('metrics-no-gauge');
    const queue = await seedQueue(queueName, {});
    const reads = jest.spyOn(queue, 'getJobCounts');
    expect(pointsFor(await harness.collect(), 'messaging.bullmq.queue.jobs', queueName)).toHaveLength(0);
    expect(reads).not.toHaveBeenCalled();
    await queue.obliterate({ force: true });
    await state.app!.close();

    const observed = uniqueQueueName('metrics-closed');
    const closing = await seedQueue(observed, { queueMetrics: true });
    await closing.obliterate({ force: true });
    await state.app!.close();
    state.app = undefined;
    const closedReads = jest.spyOn(closing, 'getJobCounts');
    expect(pointsFor(await harness.collect(), 'messaging.bullmq.queue.jobs', observed)).toHaveLength(0);
    expect(closedReads).not.toHaveBeenCalled();
  });
});

describe('metrics: false', () => {
  it('records nothing, consumer, producer or gauges, and still traces', async () => {
    const queueName = uniqueQueueName('metrics-disabled');
    const traced = await startQueueApp(queueName, { metrics: false, queueMetrics: true });
    const reads = jest.spyOn(queueOf(state.app!, queueName), 'getJobCounts');
    await finished(await traced.add('flaky', {}, { attempts: 2, backoff: { type: 'fixed', delay: 50 } }));
    await waitForSpans(state.exporter, (spans) => spansNamed(spans, 'task', queueName).length === 2);

    const collected = await harness.collect();
    const mentioning = collected.filter((metric) =>
      metric.dataPoints.some((point) => point.attributes['messaging.destination.name'] === queueName),
    );
    expect(mentioning).toEqual([]);
    expect(reads).not.toHaveBeenCalled();
  });
});
