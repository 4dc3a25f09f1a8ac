import { type Attributes, type Context, context, type Span, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import { explicitParent, type TracingContext } from '../context/tracing-context.js';
import { producerCommandContext } from '../instrument/quiet-producer.js';
import { DEFAULT_TRACER_NAME, MESSAGING_SYSTEM } from '../job-tracing.constants.js';
import { ProducerMetrics, sendOperation } from '../metrics/producer-metrics.js';
import { recordFailure } from '../tracing/record-failure.js';
import { CreateSpans, type MessageCreation, SharedCreation } from './create-spans.js';

export interface TracedQueueOptions {
  /** Default: `nestjs-job-tracing`. */
  tracerName?: string;
  /** Wrap each enqueue (`add`, `addBulk`, flows, `upsertJobScheduler`) in a PRODUCER span `send <queue>`. Default: true. */
  producerSpan?: boolean;
  /** Record `messaging.client.sent.messages` and `messaging.client.operation.duration`. Default: true. */
  metrics?: boolean;
  /**
   * For batches (`addBulk`, flows): one PRODUCER `create <queue>` span per job, whose context the job
   * stores, and a CLIENT `send` span linking them, as the messaging conventions v1.44 recommend.
   * `false`: one PRODUCER `send` span whose context every job of the batch stores (as in 0.1). Default: true.
   */
  createSpans?: boolean;
  /** Trace BullMQ's own Redis commands for the enqueue (they carry the job's data). Default: false. */
  traceBullmqCommands?: boolean;
}

export interface Send {
  /** The queue the messages go to; omitted when a batch spans several. */
  destination?: string;
  /** The trace to continue, instead of the active OpenTelemetry context. */
  tracingContext?: TracingContext;
  attributes: Attributes;
  /** `server.address` and `server.port`, when the connection is a single host. */
  server?: Attributes;
}

/**
 * The one path every producer (TracedQueue, TracedFlowProducer) sends through:
 * a PRODUCER span `send <queue>` around the enqueue, whose context the enqueue stores on the jobs.
 */
export class ProducerSpan {
  private readonly tracer: Tracer;
  private readonly enabled: boolean;
  private readonly metrics?: ProducerMetrics;
  private readonly createSpans: boolean;
  private readonly commandContext: (ctx: Context) => Context;

  constructor(options: TracedQueueOptions = {}) {
    this.tracer = trace.getTracer(options.tracerName ?? DEFAULT_TRACER_NAME);
    this.enabled = options.producerSpan ?? true;
    this.metrics = options.metrics === false ? undefined : new ProducerMetrics();
    this.createSpans = this.enabled && (options.createSpans ?? true);
    this.commandContext = producerCommandContext(options.traceBullmqCommands);
  }

  /** A single message: one PRODUCER `send` span, whose context the message stores. */
  async send<T>(send: Send, enqueue: (ctx: Context, span?: Span) => Promise<T>): Promise<T> {
    return this.run(send, SpanKind.PRODUCER, enqueue);
  }

  /**
   * A batch: each message takes its creation context from `creation`, in the batch's order;
   * `messageIds` reads the ids BullMQ assigned, in the same order, for the create spans and the send's links.
   */
  async sendBatch<T>(
    send: Send,
    enqueue: (creation: MessageCreation) => Promise<T>,
    messageIds: (result: T) => ReadonlyArray<string | undefined>,
  ): Promise<T> {
    if (!this.createSpans) return this.run(send, SpanKind.PRODUCER, (ctx) => enqueue(new SharedCreation(ctx)));
    return this.run(send, SpanKind.CLIENT, async (_ctx, span, parent) => {
      const creation = new CreateSpans(this.tracer, parent, send.server ?? {});
      let ids: ReadonlyArray<string | undefined> = [];
      try {
        const result = await enqueue(creation);
        ids = messageIds(result);
        return result;
      } finally {
        creation.end(span!, ids);
      }
    });
  }

  private async run<T>(
    send: Send,
    kind: SpanKind,
    enqueue: (ctx: Context, span: Span | undefined, parent: Context) => Promise<T>,
  ): Promise<T> {
    const parent = send.tracingContext ? explicitParent(send.tracingContext) : context.active();
    const span = this.enabled ? this.startSpan(send, kind, parent) : undefined;
    const ctx = span ? trace.setSpan(parent, span) : parent;
    const operation = sendOperation(send.destination, send.attributes, send.server);
    const startedAt = this.metrics ? performance.now() : 0;
    try {
      // BullMQ's commands run quiet (unless traceBullmqCommands); the enqueue is handed the span's context to store.
      const result = await context.with(this.commandContext(ctx), enqueue, undefined, ctx, span, parent);
      this.metrics?.settled(operation, startedAt);
      return result;
    } catch (error) {
      this.metrics?.settled(operation, startedAt, { error });
      if (span) recordFailure(span, error);
      throw error;
    } finally {
      span?.end();
    }
  }

  private startSpan(send: Send, kind: SpanKind, parent: Context): Span {
    return this.tracer.startSpan(
      send.destination === undefined ? 'send' : `send ${send.destination}`,
      {
        kind,
        attributes: {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.type': 'send',
          ...(send.destination !== undefined && { 'messaging.destination.name': send.destination }),
          ...send.attributes,
          ...send.server,
        },
      },
      parent,
    );
  }
}
