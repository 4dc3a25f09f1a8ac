import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { errorTypeOf } from '../tracing/error-type.js';
import { MESSAGING_SYSTEM } from '../job-tracing.constants.js';
import { MeterInstruments } from './meter-instruments.js';
import {
  CLIENT_OPERATION_DURATION,
  MESSAGING_DURATION_BUCKETS,
  SENT_MESSAGES,
} from './metric-names.js';

interface ProducerInstruments {
  operationDuration: Histogram;
  sentMessages: Counter;
}

/** What one producer call sends: `add` (one job), `addBulk` or a flow (several). */
export interface SendOperation {
  /** Omitted for a flow whose roots go to several queues. */
  queueName?: string;
  /** `messaging.operation.name`: `add`, `addBulk`, `addFlow`… */
  operationName: string;
  messageCount: number;
  /** `server.address` and `server.port`, when the connection is a single host. */
  server: Attributes;
}

/** The operation a producer span describes, read from its messaging attributes. */
export function sendOperation(queueName: string | undefined, spanAttributes: Attributes, server: Attributes = {}): SendOperation {
  return {
    queueName,
    operationName: String(spanAttributes['messaging.operation.name'] ?? 'send'),
    messageCount: Number(spanAttributes['messaging.batch.message_count'] ?? 1),
    server,
  };
}

/** Producer-side instruments: one duration and the messages sent, per producer call. */
export class ProducerMetrics {
  private readonly instruments = new MeterInstruments(createProducerInstruments);
  private readonly attributesByKey = new Map<string, Attributes>();

  /**
   * Records one producer call that began at `startedAt` (from performance.now()) and has settled,
   * with the error it threw, if any. Called by the producer itself rather than around it: a wrapper
   * would add a closure and an async layer to every enqueue.
   */
  settled(operation: SendOperation, startedAt: number, failure?: { error: unknown }): void {
    this.record(operation, performance.now() - startedAt, failure && errorTypeOf(failure.error));
  }

  private record(operation: SendOperation, durationMs: number, errorType: string | undefined): void {
    const attributes = this.attributesOf(operation, errorType);
    const { operationDuration, sentMessages } = this.instruments.get();
    operationDuration.record(durationMs / 1000, attributes);
    // The conventions count messages the producer attempted to send, failed ones too.
    sentMessages.add(operation.messageCount, attributes);
  }

  private attributesOf({ queueName, operationName, server }: SendOperation, errorType: string | undefined): Attributes {
    const key = `${queueName ?? ''}\u0000${operationName}\u0000${errorType ?? ''}\u0000${server['server.address'] ?? ''}:${server['server.port'] ?? ''}`;
    let attributes = this.attributesByKey.get(key);
    if (!attributes) {
      attributes = Object.freeze({
        'messaging.system': MESSAGING_SYSTEM,
        'messaging.operation.name': operationName,
        'messaging.operation.type': 'send',
        ...(queueName !== undefined && { 'messaging.destination.name': queueName }),
        ...(errorType === undefined ? {} : { 'error.type': errorType }),
        ...server,
      });
      this.attributesByKey.set(key, attributes);
    }
    return attributes;
  }
}

function createProducerInstruments(meter: Meter): ProducerInstruments {
  return {
    operationDuration: meter.createHistogram(CLIENT_OPERATION_DURATION, {
      description: 'Duration of messaging operation initiated by a producer or consumer client.',
      unit: 's',
      advice: { explicitBucketBoundaries: MESSAGING_DURATION_BUCKETS },
    }),
    sentMessages: meter.createCounter(SENT_MESSAGES, {
      description: 'Number of messages producer attempted to send to the broker.',
      unit: '{message}',
    }),
  };
}
