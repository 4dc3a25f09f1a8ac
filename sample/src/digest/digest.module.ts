import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { JobTracingModule } from 'nestjs-job-tracing';
import { DIGEST_QUEUE } from './digest.constants.js';
import { DigestProcessor } from './digest.processor.js';
import { DigestScheduler } from './digest.scheduler.js';

@Module({
  imports: [BullModule.registerQueue({ name: DIGEST_QUEUE }), JobTracingModule.forFeature(DIGEST_QUEUE)],
  providers: [DigestProcessor, DigestScheduler],
})
export class DigestModule {}
