import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { serializeContext, withStoredContext } from '../context/stored-trace-context.js';
import type { TracingContext } from '../context/tracing-context.js';
import { DEFAULT_TRACER_NAME } from '../job-tracing.constants.js';
import { recordFailure } from '../tracing/record-failure.js';

export interface TracedQueueOptions {
  /** Default: `nestjs-job-tracing`. */
  tracerName?: string;
  /** Wrap `add`/`addBulk` in a PRODUCER span `send <queue>`. Default: true. */
  producerSpan?: boolean;
}

export interface TracedJobsOptions extends JobsOptions {
  /** The trace to continue, instead of the active OpenTelemetry context. */
  tracingContext?: TracingContext;
}

export interface TracedBulkJob<DataType> {
  name: string;
  data: DataType;
  opts?: TracedJobsOptions;
}

/**
 * A producer that stores the trace context on every job it adds, in BullMQ's
 * own telemetry slot (`opts.telemetry.metadata`). Name, data and the other
 * options reach BullMQ exactly as given.
 */
export class TracedQueue<DataType = unknown, ResultType = unknown> {
  private readonly tracer: Tracer;
  private readonly producerSpan: boolean;
  private resolvedQueue?: Queue;

  constructor(
    private readonly queueOrProvider: Queue | (() => Queue),
    options: TracedQueueOptions = {},
  ) {
    this.tracer = trace.getTracer(options.tracerName ?? DEFAULT_TRACER_NAME);
    this.producerSpan = options.producerSpan ?? true;
  }

  /** The underlying BullMQ queue. */
  get queue(): Queue {
    this.resolvedQueue ??=
      typeof this.queueOrProvider === 'function' ? this.queueOrProvider() : this.queueOrProvider;
    return this.resolvedQueue;
  }

  get name(): string {
    return this.queue.name;
  }

  async add(name: string, data: DataType, opts?: TracedJobsOptions): Promise<Job<DataType, ResultType>> {
    const { tracingContext, ...jobOptions } = opts ?? {};
    return this.send(tracingContext, { 'messaging.operation.name': 'add' }, async (ctx, span) => {
      const job = await this.queue.add(name, data, withStoredContext(jobOptions, serializeContext(ctx), this.queue.defaultJobOptions));
      span?.setAttribute('messaging.message.id', job.id ?? '');
      return job as Job<DataType, ResultType>;
    });
  }

  /** One producer span for the batch; a job's own `tracingContext` still wins for that job. */
  async addBulk(jobs: TracedBulkJob<DataType>[]): Promise<Job<DataType, ResultType>[]> {
    const attributes = { 'messaging.operation.name': 'addBulk', 'messaging.batch.message_count': jobs.length };
    return this.send(undefined, attributes, async (ctx) => {
      const batchMetadata = serializeContext(ctx);
      const stored = jobs.map(({ name, data, opts }) => {
        const { tracingContext, ...jobOptions } = opts ?? {};
        const metadata = tracingContext ? serializeContext(explicitParent(tracingContext)) : batchMetadata;
        return { name, data, opts: withStoredContext(jobOptions, metadata, this.queue.defaultJobOptions) };
      });
      return (await this.queue.addBulk(stored)) as Job<DataType, ResultType>[];
    });
  }

  private async send<T>(
    tracingContext: TracingContext | undefined,
    attributes: Attributes,
    enqueue: (ctx: Context, span?: Span) => Promise<T>,
  ): Promise<T> {
    const parent = tracingContext ? explicitParent(tracingContext) : context.active();
    if (!this.producerSpan) return enqueue(parent);

    const queueName = this.queue.name;
    const span = this.tracer.startSpan(
      `send ${queueName}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'bullmq',
          'messaging.operation.type': 'send',
          'messaging.destination.name': queueName,
          ...attributes,
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    try {
      return await context.with(ctx, enqueue, undefined, ctx, span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  }
}

function explicitParent(tracingContext: TracingContext): Context {
  return trace.setSpanContext(context.active(), tracingContext.toSpanContext());
}
