import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Job, JobNode } from 'bullmq';
import {
  ContextualTaskSpan,
  InjectTracedFlowProducer,
  InjectTracedQueue,
  JobTracingModule,
  type JobTracingModuleOptions,
  TraceTask,
  TracedFlowProducer,
  TracedQueue,
  TracingContext,
} from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { uniqueQueueName } from './support/queues.js';
import { inRequest, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

const EXPLICIT = new TracingContext().withTraceId('4bf92f3577b34da6a3ce929d0e0e4736').withSpanId('00f067aa0ba902b7').withTraceFlags(1);

const jobIdsOf = (node: JobNode): string[] => [node.job.id!, ...(node.children ?? []).flatMap(jobIdsOf)];

/** A Nest app with one queue, one flow producer, both traced through forFeature({ queues, flowProducers }). */
async function flowApp(tracing?: JobTracingModuleOptions) {
  const queueName = uniqueQueueName('flow');
  const flowProducerName = uniqueQueueName('flows');

  @Processor(queueName)
  @TraceTask(new ContextualTaskSpan())
  class FlowNodeProcessor extends WorkerHost {
    async process(job: Job) {
      return job.name;
    }
  }

  @Injectable()
  class OrderService {
    constructor(
      @InjectTracedFlowProducer(flowProducerName) readonly flows: TracedFlowProducer,
      @InjectTracedQueue(queueName) readonly queue: TracedQueue,
    ) {}
  }

  state.app = await startApp({
    tracing,
    imports: [
      BullModule.registerQueue({ name: queueName }),
      BullModule.registerFlowProducer({ name: flowProducerName }),
      JobTracingModule.forFeature({ queues: [queueName], flowProducers: [flowProducerName] }),
    ],
    providers: [FlowNodeProcessor, OrderService],
  });
  const service = state.app.get(OrderService);
  const tasksOf = async (jobIds: string[]) => {
    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === jobIds.length, 20_000);
    const byJobId = new Map(spansNamed(spans, 'task', queueName).map((span) => [span.attributes.task_id as string, span]));
    return { spans, byJobId };
  };
  return { queueName, service, tasksOf };
}

const expectChildOf = (task: ReadableSpan | undefined, parent: { traceId: string; spanId: string }) => {
  expect(task?.spanContext().traceId).toBe(parent.traceId);
  expect(task?.parentSpanContext?.spanId).toBe(parent.spanId);
};

describe('TracedFlowProducer', () => {
  it("stores one producer span's context on every node, and per-node tracingContext and propagation win", async () => {
    const { queueName, service, tasksOf } = await flowApp();
    expect(service.queue).toBeInstanceOf(TracedQueue);
    const node = await inRequest(() =>
      service.flows.add({
        name: 'order',
        queueName,
        children: [
          { name: 'invoice', queueName, children: [{ name: 'pdf', queueName }] },
          { name: 'audit', queueName, opts: { tracingContext: EXPLICIT } },
          { name: 'report', queueName, opts: { propagation: 'link' } },
        ],
      }),
    );
    const ids = jobIdsOf(node);
    const { spans, byJobId } = await tasksOf(ids);
    const [request] = spansNamed(spans, 'request');
    const [send] = spansNamed(spans, `send ${queueName}`);
    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(send.attributes).toMatchObject({
      'messaging.operation.name': 'addFlow',
      'messaging.destination.name': queueName,
      'messaging.batch.message_count': 5,
    });
    expect(send.attributes).not.toHaveProperty('messaging.message.id');

    // One create span per node, all siblings under the request; `audit` keeps its own context, linked from the send.
    const createOf = new Map(spansNamed(spans, `create ${queueName}`).map((span) => [span.attributes['messaging.message.id'], span]));
    expect([...createOf.keys()].sort()).toEqual(['order', 'invoice', 'pdf', 'report'].map((name) => idOfNamed(node, name)).sort());
    for (const create of createOf.values()) {
      expect(create.kind).toBe(SpanKind.PRODUCER);
      expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    }
    expect(send.links.map((link) => [link.attributes?.['messaging.message.id'], link.context.spanId])).toEqual(
      ['order', 'invoice', 'pdf', 'audit', 'report'].map((name) => {
        const id = idOfNamed(node, name);
        return [id, name === 'audit' ? EXPLICIT.spanId : createOf.get(id)!.spanContext().spanId];
      }),
    );

    const taskNamed = (name: string) => byJobId.get(idOfNamed(node, name)!);
    for (const name of ['order', 'invoice', 'pdf']) expectChildOf(taskNamed(name), createOf.get(idOfNamed(node, name))!.spanContext());
    expectChildOf(taskNamed('audit'), { traceId: EXPLICIT.traceId!, spanId: EXPLICIT.spanId! });
    const report = taskNamed('report')!;
    expect(report.parentSpanContext).toBeUndefined();
    expect(report.links.map((link) => link.context.spanId)).toEqual([createOf.get(idOfNamed(node, 'report'))!.spanContext().spanId]);
  });

  it('with createSpans: false, one PRODUCER send whose context every node stores', async () => {
    const { queueName, service, tasksOf } = await flowApp({ createSpans: false });
    const node = await inRequest(() =>
      service.flows.add({ name: 'order', queueName, children: [{ name: 'invoice', queueName, children: [{ name: 'pdf', queueName }] }] }),
    );
    const ids = jobIdsOf(node);
    const { spans, byJobId } = await tasksOf(ids);
    const sends = spans.filter((span) => span.kind === SpanKind.PRODUCER);
    expect(sends).toHaveLength(1);
    expect(sends[0].name).toBe(`send ${queueName}`);
    expect(sends[0].links).toEqual([]);
    expect(sends[0].attributes).toMatchObject({ 'messaging.operation.name': 'addFlow', 'messaging.batch.message_count': 3 });
    for (const id of ids) expectChildOf(byJobId.get(id), sends[0].spanContext());
  });

  it('addBulk: one producer span for all the flows', async () => {
    const { queueName, service, tasksOf } = await flowApp();
    const nodes = await inRequest(() =>
      service.flows.addBulk([
        { name: 'a', queueName, children: [{ name: 'a1', queueName }] },
        { name: 'b', queueName },
      ]),
    );
    const ids = nodes.flatMap(jobIdsOf);
    const { spans, byJobId } = await tasksOf(ids);
    const [send] = spansNamed(spans, `send ${queueName}`);
    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(send.attributes).toMatchObject({ 'messaging.operation.name': 'addBulkFlows', 'messaging.batch.message_count': 3 });
    const creates = spansNamed(spans, `create ${queueName}`);
    expect(creates).toHaveLength(3);
    expect(send.links.map((link) => link.attributes?.['messaging.message.id'])).toEqual(ids);
    for (const id of ids) {
      const create = creates.find((span) => span.attributes['messaging.message.id'] === id)!;
      expect(send.links.find((link) => link.attributes?.['messaging.message.id'] === id)!.context.spanId).toBe(create.spanContext().spanId);
      expectChildOf(byJobId.get(id), create.spanContext());
    }
  });

  it('a flow over several queues: the send span names no destination; each create span names its node’s', async () => {
    const { queueName, service } = await flowApp();
    const other = uniqueQueueName('flow-other');
    await inRequest(() => service.flows.add({ name: 'order', queueName, children: [{ name: 'invoice', queueName: other }] }));
    const spans = state.exporter.getFinishedSpans();
    const [send] = spansNamed(spans, 'send');
    expect(send.attributes).not.toHaveProperty('messaging.destination.name');
    expect(spansNamed(spans, `create ${queueName}`)).toHaveLength(1);
    expect(spansNamed(spans, `create ${other}`)).toHaveLength(1);
  });
});

function idOfNamed(node: JobNode, name: string): string | undefined {
  if (node.job.name === name) return node.job.id;
  return (node.children ?? []).map((child) => idOfNamed(child, name)).find((id) => id !== undefined);
}
