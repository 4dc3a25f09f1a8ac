import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { JobTracingModule } from 'nestjs-job-tracing';
import { OpenTelemetryModule } from 'nestjs-otel';
import { DigestModule } from './digest/digest.module.js';
import { EmailModule } from './email/email.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { redisConnectionFromEnv } from './redis-connection.js';

@Module({
  imports: [
    // nestjs-otel's own metrics share the Prometheus endpoint with the job metrics (see tracing.ts).
    OpenTelemetryModule.forRoot({ metrics: { hostMetrics: true } }),
    // The receipts queue's DEBUG spans are recorded; JOB_TRACING_LEVEL=info hides them.
    // queueMetrics: each queue's jobs per state, read from Redis when /metrics is scraped.
    JobTracingModule.forRoot({ level: 'info,receipts=debug', queueMetrics: true }),
    BullModule.forRoot({ connection: redisConnectionFromEnv(), prefix: process.env.QUEUE_PREFIX }),
    EmailModule,
    OrdersModule,
    DigestModule,
  ],
})
export class AppModule {}
