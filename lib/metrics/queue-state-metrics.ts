import { type Attributes, type BatchObservableCallback, metrics } from '@opentelemetry/api';
import type { JobType, Queue } from 'bullmq';
import { DEFAULT_TRACER_NAME, MESSAGING_SYSTEM } from '../job-tracing.constants.js';
import { serverAttributesOf } from '../tracing/server-address.js';
import { JOB_STATE_ATTRIBUTE, QUEUE_JOBS } from './metric-names.js';

/** Every state a BullMQ job can be in; `prioritized` jobs wait as `waiting` ones do. */
export const QUEUE_STATES: readonly JobType[] = [
  'waiting',
  'prioritized',
  'waiting-children',
  'active',
  'delayed',
  'failed',
  'completed',
];

/**
 * Observes the jobs per state of each queue, read from Redis (one round trip per
 * queue) only when a metric reader collects. Returns what stops it.
 */
export function observeQueueStates(queues: readonly Queue[]): () => void {
  const meter = metrics.getMeter(DEFAULT_TRACER_NAME);
  const gauge = meter.createObservableGauge(QUEUE_JOBS, {
    description: 'Number of jobs in the queue, by state, read from Redis when metrics are collected.',
    unit: '{job}',
  });
  const attributesByQueue = new Map(queues.map((queue) => [queue, attributesPerState(queue.name, serverAttributesOf(queue))]));
  const callback: BatchObservableCallback = async (result) => {
    // A queue whose read fails is left out of this collection; the others are still observed.
    await Promise.allSettled(
      queues.map(async (queue) => {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        const attributes = attributesByQueue.get(queue)!;
        QUEUE_STATES.forEach((state, index) => result.observe(gauge, counts[state] ?? 0, attributes[index]));
      }),
    );
  };
  meter.addBatchObservableCallback(callback, [gauge]);
  return () => meter.removeBatchObservableCallback(callback, [gauge]);
}

function attributesPerState(queueName: string, server: Attributes): Attributes[] {
  return QUEUE_STATES.map((state) =>
    Object.freeze({
      'messaging.system': MESSAGING_SYSTEM,
      'messaging.destination.name': queueName,
      [JOB_STATE_ATTRIBUTE]: state,
      ...server,
    }),
  );
}
