import type { FlowJob, FlowOpts, FlowProducer, JobNode } from 'bullmq';
import { serverAttributesOf } from '../tracing/server-address.js';
import type { MessageCreation } from './create-spans.js';
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
 * A flow producer that stores a creation context on every node of the flows it
 * adds, nodes given without `opts` included, so every node's task continues the
 * creator's trace: each node's own `create` span, all siblings under the caller's
 * span, or with `createSpans: false` the one producer span's.
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

  /** A `create` span per node and one `send` span linking them (with `createSpans: false`, one producer span for all). */
  async add(flow: TracedFlowJob, opts?: FlowOpts): Promise<JobNode> {
    return this.producerSpan.sendBatch(
      this.sendOf([flow], 'addFlow'),
      (creation) => this.flowProducer.add(storedOnEveryNode(flow, creation), opts),
      (node) => idsOf([node]),
    );
  }

  async addBulk(flows: TracedFlowJob[]): Promise<JobNode[]> {
    return this.producerSpan.sendBatch(
      this.sendOf(flows, 'addBulkFlows'),
      (creation) => this.flowProducer.addBulk(flows.map((flow) => storedOnEveryNode(flow, creation))),
      idsOf,
    );
  }

  private sendOf(flows: TracedFlowJob[], operation: string) {
    const queues = new Set<string>();
    const count = flows.reduce((n, flow) => countNodes(n, flow, queues), 0);
    return {
      // Named for the queue when every node goes to it; a flow over several queues leaves it unnamed, as the conventions ask.
      destination: queues.size === 1 ? [...queues][0] : undefined,
      attributes: { 'messaging.operation.name': operation, 'messaging.batch.message_count': count },
      server: serverAttributesOf(this.flowProducer),
    };
  }
}

delegateMissingMembers(TracedFlowProducer, (self) => (self as TracedFlowProducer).flowProducer);

/** Pre-order, parent before children, as `idsOf` reads the nodes BullMQ returns. */
function storedOnEveryNode(node: TracedFlowJob, creation: MessageCreation): FlowJob {
  const { opts, children, ...rest } = node;
  const metadata = creation.metadataFor(node.queueName, opts);
  return {
    ...rest,
    opts: toStoredOptions(opts, metadata, `flow node "${node.name}" of queue "${node.queueName}"`),
    ...(children && { children: children.map((child) => storedOnEveryNode(child, creation)) }),
  } as FlowJob;
}

/** The job ids of the nodes BullMQ returns, which keep the order of the nodes given, in pre-order. */
function idsOf(nodes: JobNode[]): Array<string | undefined> {
  return nodes.flatMap((node) => [node.job.id, ...idsOf(node.children ?? [])]);
}

function countNodes(count: number, node: TracedFlowJob, queues: Set<string>): number {
  queues.add(node.queueName);
  return (node.children ?? []).reduce((n, child) => countNodes(n, child, queues), count + 1);
}
