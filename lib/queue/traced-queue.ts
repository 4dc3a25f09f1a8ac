import type { Job, Queue } from 'bullmq';
import { serializeContext } from '../context/stored-trace-context.js';
import { serverAttributesOf } from '../tracing/server-address.js';
import { SCHEDULER_ID_ATTRIBUTE } from '../tracing/scheduler-run.js';
import { delegateMissingMembers } from './delegated-members.js';
import { ProducerSpan, type TracedQueueOptions } from './producer-span.js';
import { type JobTracingOptions, type TracedJobsOptions, toStoredOptions } from './traced-job-options.js';

export type { TracedQueueOptions } from './producer-span.js';
export type { TracedJobsOptions } from './traced-job-options.js';

export interface TracedBulkJob<DataType> {
  name: string;
  data: DataType;
  opts?: TracedJobsOptions;
}

// Taken from the method itself, so they follow whichever BullMQ version is installed.
type RepeatOptions = Parameters<Queue['upsertJobScheduler']>[1];
type SchedulerTemplateOptions = NonNullable<NonNullable<Parameters<Queue['upsertJobScheduler']>[2]>['opts']>;

/** The job every run of a scheduler is made from; `propagation` may be `link` (the default for runs) or `none`. */
export interface TracedJobSchedulerTemplate<DataType> {
  name?: string;
  data?: DataType;
  opts?: SchedulerTemplateOptions & JobTracingOptions;
}

/** The members TracedQueue defines itself: the enqueueing methods, traced, and `name`. */
type TracedQueueMembers = 'add' | 'addBulk' | 'upsertJobScheduler' | 'name';

/** Every other member of the wrapped Queue, with BullMQ's own type: `getJob`, `pause`, `removeJobScheduler`, `close`, … */
// Merged with the class below, whose prototype delegates them to `queue`.
export interface TracedQueue<DataType = unknown, ResultType = unknown>
  extends Omit<Queue<DataType, ResultType>, TracedQueueMembers> {}

/**
 * A producer that stores the trace context on every job it adds, in BullMQ's
 * own telemetry slot (`opts.telemetry.metadata`). Name, data and the other
 * options reach BullMQ exactly as given. A drop-in for the Queue it wraps:
 * every other Queue member is the queue's own, untraced.
 */
export class TracedQueue<DataType = unknown, ResultType = unknown> {
  private readonly producerSpan: ProducerSpan;
  private resolvedQueue?: Queue;

  constructor(
    private readonly queueOrProvider: Queue | (() => Queue),
    options: TracedQueueOptions = {},
  ) {
    this.producerSpan = new ProducerSpan(options);
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
    // The given context parents the producer span, whose own context is stored.
    const { tracingContext, ...jobOptions } = opts ?? {};
    const send = {
      destination: this.name,
      tracingContext,
      attributes: { 'messaging.operation.name': 'add' },
      server: serverAttributesOf(this.queue),
    };
    return this.producerSpan.send(send, async (ctx, span) => {
      const stored = toStoredOptions(jobOptions, serializeContext(ctx), `job "${name}"`, this.queue.defaultJobOptions);
      const job = await this.queue.add(name, data, stored);
      span?.setAttribute('messaging.message.id', job.id ?? '');
      return job as Job<DataType, ResultType>;
    });
  }

  /**
   * A `create` span per job and one `send` span linking them (or, with `createSpans: false`,
   * one producer span for the batch); a job's own `tracingContext` still wins for that job.
   */
  async addBulk(jobs: TracedBulkJob<DataType>[]): Promise<Job<DataType, ResultType>[]> {
    const attributes = { 'messaging.operation.name': 'addBulk', 'messaging.batch.message_count': jobs.length };
    const send = { destination: this.name, attributes, server: serverAttributesOf(this.queue) };
    return this.producerSpan.sendBatch(
      send,
      async (creation) => {
        const defaults = this.queue.defaultJobOptions;
        const stored = jobs.map(({ name, data, opts }) => ({
          name,
          data,
          opts: toStoredOptions(opts, creation.metadataFor(this.name, opts, defaults), `job "${name}"`, defaults),
        }));
        return (await this.queue.addBulk(stored)) as Job<DataType, ResultType>[];
      },
      (added) => added.map((job) => job.id),
    );
  }

  /**
   * Creates or updates a job scheduler whose template carries the context of
   * the PRODUCER span around this call. Each run starts a trace of its own,
   * linked to that span; no run is a child of the creator or of another run.
   */
  async upsertJobScheduler(
    jobSchedulerId: string,
    repeatOpts: RepeatOptions,
    template?: TracedJobSchedulerTemplate<DataType>,
  ): Promise<Job<DataType, ResultType> | undefined> {
    if (template?.opts?.propagation === 'child') {
      throw new TypeError(
        `job scheduler "${jobSchedulerId}": propagation "child" would make every run part of the creator's trace; use "link" (the default) or "none"`,
      );
    }
    const { tracingContext, ...templateOptions } = template?.opts ?? {};
    const send = {
      destination: this.name,
      tracingContext,
      attributes: { 'messaging.operation.name': 'upsertJobScheduler', [SCHEDULER_ID_ATTRIBUTE]: jobSchedulerId },
      server: serverAttributesOf(this.queue),
    };
    return this.producerSpan.send(send, async (ctx, span) => {
      const opts = toStoredOptions(
        templateOptions,
        serializeContext(ctx),
        `job scheduler "${jobSchedulerId}"`,
        this.queue.defaultJobOptions,
      );
      const job = await this.queue.upsertJobScheduler(jobSchedulerId, repeatOpts, { ...template, opts });
      if (job?.id !== undefined) span?.setAttribute('messaging.message.id', job.id);
      return job as Job<DataType, ResultType> | undefined;
    });
  }
}

delegateMissingMembers(TracedQueue, (self) => (self as TracedQueue).queue);
