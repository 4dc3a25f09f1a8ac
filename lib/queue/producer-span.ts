import { type Attributes, type Context, context, type Span, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { explicitParent, type TracingContext } from '../context/tracing-context.js';
import { DEFAULT_TRACER_NAME, MESSAGING_SYSTEM } from '../job-tracing.constants.js';
import { ProducerMetrics, sendOperation } from '../metrics/producer-metrics.js';
import { recordFailure } from '../tracing/record-failure.js';

export interface TracedQueueOptions {
  /** Default: `nestjs-job-tracing`. */
  tracerName?: string;
  /** Wrap each enqueue (`add`, `addBulk`, flows, `upsertJobScheduler`) in a PRODUCER span `send <queue>`. Default: true. */
  producerSpan?: boolean;
  /** Record `messaging.client.sent.messages` and `messaging.client.operation.duration`. Default: true. */
  metrics?: boolean;
}

export interface Send {
  /** The queue the messages go to; omitted when a batch spans several. */
  destination?: string;
  /** The trace to continue, instead of the active OpenTelemetry context. */
  tracingContext?: TracingContext;
  attributes: Attributes;
}

/**
 * The one path every producer (TracedQueue, TracedFlowProducer) sends through:
 * a PRODUCER span `send <queue>` around the enqueue, whose context the enqueue stores on the jobs.
 */
export class ProducerSpan {
  private readonly tracer: Tracer;
  private readonly enabled: boolean;
  private readonly metrics?: ProducerMetrics;

  constructor(options: TracedQueueOptions = {}) {
    this.tracer = trace.getTracer(options.tracerName ?? DEFAULT_TRACER_NAME);
    this.enabled = options.producerSpan ?? true;
    this.metrics = options.metrics === false ? undefined : new ProducerMetrics();
  }

  async send<T>(send: Send, enqueue: (ctx: Context, span?: Span) => Promise<T>): Promise<T> {
    const parent = send.tracingContext ? explicitParent(send.tracingContext) : context.active();
    const span = this.enabled ? this.startSpan(send, parent) : undefined;
    const ctx = span ? trace.setSpan(parent, span) : parent;
    const startedAt = this.metrics ? performance.now() : 0;
    try {
      const result = await (span ? context.with(ctx, enqueue, undefined, ctx, span) : enqueue(parent));
      this.metrics?.settled(sendOperation(send.destination, send.attributes), startedAt);
      return result;
    } catch (error) {
      this.metrics?.settled(sendOperation(send.destination, send.attributes), startedAt, { error });
      if (span) recordFailure(span, error);
      throw error;
    } finally {
      span?.end();
    }
  }

  private startSpan(send: Send, parent: Context): Span {
    return this.tracer.startSpan(
      send.destination === undefined ? 'send' : `send ${send.destination}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.type': 'send',
          ...(send.destination !== undefined && { 'messaging.destination.name': send.destination }),
          ...send.attributes,
        },
      },
      parent,
    );
  }
}
