import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { errorTypeOf } from '../tracing/error-type.js';
import { jobTiming } from '../tracing/job-timing.js';
import { MeterInstruments } from './meter-instruments.js';
import {
  CONSUMED_MESSAGES,
  JOB_NAME_ATTRIBUTE,
  JOB_WAIT_DURATION,
  MESSAGING_DURATION_BUCKETS,
  MESSAGING_SYSTEM,
  PROCESS_DURATION,
  WAIT_BUCKETS,
} from './metric-names.js';

export interface JobMetricsOptions {
  /** Adds `messaging.bullmq.job.name`. Only for a small, fixed set of job names. Default: false. */
  jobName?: boolean;
  /**
   * The `error.type` of an attempt whose handler threw, or `undefined` when the
   * error is no failure (BullMQ's moves, such as DelayedError). Default: the error's class name.
   */
  failureType?: (error: unknown) => string | undefined;
}

interface ConsumerInstruments {
  processDuration: Histogram;
  consumedMessages: Counter;
  waitDuration: Histogram;
}

/** The attribute sets of one queue (and job name), built once and reused for every attempt. */
interface AttemptAttributes {
  succeeded: Attributes;
  failedBy: Map<string, Attributes>;
}

/** Consumer-side instruments: every attempt records its processing time, one consumed message and its wait. */
export class JobMetrics {
  private readonly instruments = new MeterInstruments(createConsumerInstruments);
  private readonly attributesByKey = new Map<string, AttemptAttributes>();
  private readonly jobName: boolean;
  private readonly failureType: (error: unknown) => string | undefined;

  constructor(options: JobMetricsOptions = {}) {
    this.jobName = options.jobName ?? false;
    this.failureType = options.failureType ?? errorTypeOf;
  }

  /** The handler, measured: its result or error passes through unchanged. */
  measured<T>(job: Job, handler: () => Promise<T>): () => Promise<T> {
    return async () => {
      const attributes = this.attributesOf(job);
      const instruments = this.instruments.get();
      const { waitMs } = jobTiming(job);
      if (waitMs !== undefined) instruments.waitDuration.record(waitMs / 1000, attributes.succeeded);
      const startedAt = performance.now();
      try {
        const result = await handler();
        record(instruments, performance.now() - startedAt, attributes.succeeded);
        return result;
      } catch (error) {
        const errorType = this.failureType(error);
        record(instruments, performance.now() - startedAt, failedAttributes(attributes, errorType));
        throw error;
      }
    };
  }

  private attributesOf(job: Job): AttemptAttributes {
    const key = this.jobName ? `${job.queueName}\u0000${job.name}` : job.queueName;
    let attributes = this.attributesByKey.get(key);
    if (!attributes) {
      const succeeded: Attributes = {
        'messaging.system': MESSAGING_SYSTEM,
        'messaging.operation.name': 'process',
        'messaging.operation.type': 'process',
        'messaging.destination.name': job.queueName,
      };
      if (this.jobName) succeeded[JOB_NAME_ATTRIBUTE] = job.name;
      attributes = { succeeded: Object.freeze(succeeded), failedBy: new Map() };
      this.attributesByKey.set(key, attributes);
    }
    return attributes;
  }
}

function failedAttributes(attributes: AttemptAttributes, errorType: string | undefined): Attributes {
  if (errorType === undefined) return attributes.succeeded;
  let failed = attributes.failedBy.get(errorType);
  if (!failed) {
    failed = Object.freeze({ ...attributes.succeeded, 'error.type': errorType });
    attributes.failedBy.set(errorType, failed);
  }
  return failed;
}

function record(instruments: ConsumerInstruments, durationMs: number, attributes: Attributes): void {
  instruments.processDuration.record(durationMs / 1000, attributes);
  instruments.consumedMessages.add(1, attributes);
}

function createConsumerInstruments(meter: Meter): ConsumerInstruments {
  return {
    processDuration: meter.createHistogram(PROCESS_DURATION, {
      description: 'Duration of processing operation.',
      unit: 's',
      advice: { explicitBucketBoundaries: MESSAGING_DURATION_BUCKETS },
    }),
    consumedMessages: meter.createCounter(CONSUMED_MESSAGES, {
      description: 'Number of messages that were delivered to the application.',
      unit: '{message}',
    }),
    waitDuration: meter.createHistogram(JOB_WAIT_DURATION, {
      description: 'Time a job waited from when it became ready (added, or its delay ended) to the start of the attempt.',
      unit: 's',
      advice: { explicitBucketBoundaries: WAIT_BUCKETS },
    }),
  };
}
