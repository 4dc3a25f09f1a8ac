import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { JobTracingModule } from 'nestjs-job-tracing';
import { DnsService } from './dns.service.js';
import { EMAIL_QUEUE, RECEIPTS_QUEUE } from './email.constants.js';
import { EmailController } from './email.controller.js';
import { EmailProcessor } from './email.processor.js';
import { ReceiptProcessor } from './receipt.processor.js';

@Module({
  imports: [
    BullModule.registerQueue({ name: EMAIL_QUEUE }, { name: RECEIPTS_QUEUE }),
    JobTracingModule.forFeature(EMAIL_QUEUE, RECEIPTS_QUEUE),
  ],
  controllers: [EmailController],
  providers: [DnsService, EmailProcessor, ReceiptProcessor],
})
export class EmailModule {}
