import { Controller, HttpCode, Post } from '@nestjs/common';
import { InjectTracedFlowProducer, TracedFlowProducer } from 'nestjs-job-tracing';
import { randomUUID } from 'node:crypto';
import { ORDER_FLOWS, ORDERS_QUEUE } from './orders.constants.js';

@Controller('orders')
export class OrdersController {
  constructor(@InjectTracedFlowProducer(ORDER_FLOWS) private readonly flows: TracedFlowProducer) {}

  /**
   * A flow: `ship` runs once `pick` and `pack` are done, and `pack` once `label` is.
   * Nodes without `opts` get the trace too: all four tasks land in this request's trace.
   */
  @Post()
  @HttpCode(202)
  async create(): Promise<{ jobId: string | undefined }> {
    const data = { orderId: randomUUID() };
    const node = await this.flows.add({
      name: 'ship',
      queueName: ORDERS_QUEUE,
      data,
      children: [
        { name: 'pick', queueName: ORDERS_QUEUE, data },
        { name: 'pack', queueName: ORDERS_QUEUE, data, children: [{ name: 'label', queueName: ORDERS_QUEUE, data }] },
      ],
    });
    return { jobId: node.job.id };
  }
}
