import type { FlowJob, FlowOpts, FlowProducer, JobNode } from 'bullmq';
import { serializeContext } from '../context/stored-trace-context.js';
import { delegateMissingMembers } from './delegated-members.js';
import { ProducerSpan, type TracedQueueOptions } from './producer-span.js';
import { type JobTracingOptions, toStoredOptions } from './traced-job-options.js';

/** A node of a flow as BullMQ takes it, whose `opts` also accept `tracingContext` and `propagation`. */
export type TracedFlowJob = Omit<FlowJob, 'opts' | 'children'> & {
  opts?: FlowJob['opts'] & JobTracingOptions;
  children?: TracedFlowJob[];
};

/** Every other member of the wrapped FlowProducer, with BullMQ's own type: `getFlow`, `close`, … */
// Merged with the class below, whose prototype delegates them to `flowProducer`.
export interface TracedFlowProducer extends Omit<FlowProducer, 'add' | 'addBulk'> {}

/**
 * A flow producer that stores one PRODUCER span's context on every node of
 * the flows it adds, nodes given without `opts` included, so every node's
 * task continues the creator's trace.
 */
export class TracedFlowProducer {
  private readonly producerSpan: ProducerSpan;
  private resolvedFlowProducer?: FlowProducer;

  constructor(
    private readonly flowProducerOrProvider: FlowProducer | (() => FlowProducer),
    options: TracedQueueOptions = {},
  ) {
    this.producerSpan = new ProducerSpan(options);
  }

  /** The underlying BullMQ flow producer. */
  get flowProducer(): FlowProducer {
    this.resolvedFlowProducer ??=
      typeof this.flowProducerOrProvider === 'function' ? this.flowProducerOrProvider() : this.flowProducerOrProvider;
    return this.resolvedFlowProducer;
  }

  async add(flow: TracedFlowJob, opts?: FlowOpts): Promise<JobNode> {
    return this.producerSpan.send(sendOf([flow], 'addFlow'), async (ctx, span) => {
      const node = await this.flowProducer.add(storedOnEveryNode(flow, serializeContext(ctx)), opts);
      if (node.job.id !== undefined) span?.setAttribute('messaging.message.id', node.job.id);
      return node;
    });
  }

  /** One producer span for all the flows. */
  async addBulk(flows: TracedFlowJob[]): Promise<JobNode[]> {
    return this.producerSpan.send(sendOf(flows, 'addBulkFlows'), async (ctx) => {
      const metadata = serializeContext(ctx);
      return this.flowProducer.addBulk(flows.map((flow) => storedOnEveryNode(flow, metadata)));
    });
  }
}

delegateMissingMembers(TracedFlowProducer, (self) => (self as TracedFlowProducer).flowProducer);

function storedOnEveryNode(node: TracedFlowJob, metadata: string | undefined): FlowJob {
  const { opts, children, ...rest } = node;
  return {
    ...rest,
    opts: toStoredOptions(opts, metadata, `flow node "${node.name}" of queue "${node.queueName}"`),
    ...(children && { children: children.map((child) => storedOnEveryNode(child, metadata)) }),
  } as FlowJob;
}

function sendOf(flows: TracedFlowJob[], operation: string) {
  const roots = new Set(flows.map((flow) => flow.queueName));
  return {
    // The roots' queue names the span, as the queue for `add`; flows to several queues leave it unnamed.
    destination: roots.size === 1 ? [...roots][0] : undefined,
    attributes: { 'messaging.operation.name': operation, 'messaging.batch.message_count': flows.reduce(countNodes, 0) },
  };
}

function countNodes(count: number, node: TracedFlowJob): number {
  return (node.children ?? []).reduce(countNodes, count + 1);
}
