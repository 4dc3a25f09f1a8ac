import type { Attributes, Meter } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { errorTypeOf } from '../tracing/error-type.js';
import { isJobMoved } from '../tracing/job-moved.js';
import { jobTiming } from '../tracing/job-timing.js';
import { serverAttributesOfJob } from '../tracing/server-address.js';
import { MESSAGING_SYSTEM } from '../job-tracing.constants.js';
import { MeterInstruments } from './meter-instruments.js';
import { processGlobal } from '../process-global.js';
import {
  CONSUMED_MESSAGES,
  JOB_NAME_ATTRIBUTE,
  JOB_WAIT_DURATION,
  MESSAGING_DURATION_BUCKETS,
  PROCESS_DURATION,
  WAIT_BUCKETS,
} from './metric-names.js';

export interface JobMetricsOptions {
  /** Adds `messaging.bullmq.job.name`. Only for a small, fixed set of job names. Default: false. */
  jobName?: boolean;
}

/** The attribute sets of one queue (and job name, when asked for), each built once and never changed. */
interface QueueSeries {
  readonly succeeded: Attributes;
  readonly failedBy: Map<string, Attributes>;
  readonly wait: Attributes;
}

// Shared by every JobMetrics of the process, also across copies of this package, so two apps
// never report one series twice: the consumed-messages counter is observed from one map.
// Per server first: server attributes are one object per server (see server-address.ts).
const seriesByServer = processGlobal('consumer-series-by-server', () => new Map<Attributes, Map<string, QueueSeries>>());
const instruments = processGlobal('consumer-instruments', () => new MeterInstruments(createConsumerInstruments));

/** Consumer-side metrics: every attempt records its processing time and one consumed message; a job's first attempt also its wait. */
export class JobMetrics {
  private readonly jobName: boolean;

  constructor(options: JobMetricsOptions = {}) {
    this.jobName = options.jobName ?? false;
  }

  /**
   * The handler, measured: its result or error passes through unchanged. For
   * attempts that get no span; a traced attempt is recorded inline by the tracer,
   * without this extra async layer per job.
   */
  measured<T>(job: Job, handler: () => Promise<T>): () => Promise<T> {
    return async () => {
      const startedAt = performance.now();
      try {
        const result = await handler();
        this.recordAttempt(job, performance.now() - startedAt);
        return result;
      } catch (error) {
        this.recordFailedAttempt(job, performance.now() - startedAt, error);
        throw error;
      }
    };
  }

  /** An attempt whose handler returned: its processing time, one consumed message, and a first attempt's wait. */
  recordAttempt(job: Job, durationMs: number): void {
    const series = this.seriesOf(job);
    this.record(job, series, durationMs, series.succeeded);
  }

  /** An attempt whose handler threw `error`: as recordAttempt, with the failure's `error.type` unless it is no failure. */
  recordFailedAttempt(job: Job, durationMs: number, error: unknown): void {
    const series = this.seriesOf(job);
    // BullMQ's moves (DelayedError and the rest) are no failure: recorded without error.type.
    this.record(job, series, durationMs, failedAttributes(series, isJobMoved(error) ? undefined : errorTypeOf(error)));
  }

  private record(job: Job, series: QueueSeries, durationMs: number, attributes: Attributes): void {
    const { processDuration, waitDuration, consumedMessages } = instruments.get();
    const { waitMs } = jobTiming(job);
    if (waitMs !== undefined) waitDuration.record(waitMs / 1000, series.wait);
    processDuration.record(durationMs / 1000, attributes);
    consumedMessages.set(attributes, (consumedMessages.get(attributes) ?? 0) + 1);
  }

  private seriesOf(job: Job): QueueSeries {
    const server = serverAttributesOfJob(job);
    let seriesByKey = seriesByServer.get(server);
    if (!seriesByKey) {
      seriesByKey = new Map();
      seriesByServer.set(server, seriesByKey);
    }
    const key = this.jobName ? `${job.queueName}\u0000${job.name}` : job.queueName;
    let series = seriesByKey.get(key);
    if (!series) {
      const queue: Attributes = { 'messaging.system': MESSAGING_SYSTEM, 'messaging.destination.name': job.queueName };
      if (this.jobName) queue[JOB_NAME_ATTRIBUTE] = job.name;
      // The server last, after the queue's own attributes (Prometheus keeps this order in its labels).
      const succeeded = Object.freeze({ ...queue, 'messaging.operation.name': 'process', ...server });
      series = { succeeded, failedBy: new Map(), wait: Object.freeze({ ...queue, ...server }) };
      seriesByKey.set(key, series);
    }
    return series;
  }
}

function failedAttributes(series: QueueSeries, errorType: string | undefined): Attributes {
  if (errorType === undefined) return series.succeeded;
  let failed = series.failedBy.get(errorType);
  if (!failed) {
    failed = Object.freeze({ ...series.succeeded, 'error.type': errorType });
    series.failedBy.set(errorType, failed);
  }
  return failed;
}

function createConsumerInstruments(meter: Meter) {
  // Counted here and reported when the reader collects: a synchronous counter
  // would hash the attribute set on every attempt, doubling the cost per job.
  // Counts start at zero for each provider, as the histograms do.
  const consumedMessages = new Map<Attributes, number>();
  meter
    .createObservableCounter(CONSUMED_MESSAGES, {
      description: 'Number of messages that were delivered to the application.',
      unit: '{message}',
    })
    .addCallback((result) => {
      for (const [attributes, count] of consumedMessages) result.observe(count, attributes);
    });
  return {
    consumedMessages,
    processDuration: meter.createHistogram(PROCESS_DURATION, {
      description: 'Duration of processing operation.',
      unit: 's',
      advice: { explicitBucketBoundaries: MESSAGING_DURATION_BUCKETS },
    }),
    waitDuration: meter.createHistogram(JOB_WAIT_DURATION, {
      description: 'Time a job waited from when it became ready (added, or its delay ended) to the start of the attempt.',
      unit: 's',
      advice: { explicitBucketBoundaries: WAIT_BUCKETS },
    }),
  };
}
