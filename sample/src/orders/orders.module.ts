import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { JobTracingModule } from 'nestjs-job-tracing';
import { OrderProcessor } from './order.processor.js';
import { ORDER_FLOWS, ORDERS_QUEUE } from './orders.constants.js';
import { OrdersController } from './orders.controller.js';

@Module({
  imports: [
    BullModule.registerQueue({ name: ORDERS_QUEUE }),
    BullModule.registerFlowProducer({ name: ORDER_FLOWS }),
    JobTracingModule.forFeature({ flowProducers: [ORDER_FLOWS] }),
  ],
  controllers: [OrdersController],
  providers: [OrderProcessor],
})
export class OrdersModule {}
