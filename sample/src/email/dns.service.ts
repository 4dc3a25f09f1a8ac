import { Injectable } from '@nestjs/common';
import { Span } from 'nestjs-otel';
import { setTimeout as sleep } from 'node:timers/promises';
import { FLAKY_DOMAIN } from './email.constants.js';

@Injectable()
export class DnsService {
  /** nestjs-otel's span nests under the task span, because the job runs inside it. */
  @Span('DnsService.isConfigured')
  async isConfigured(domain: string, attempt: number): Promise<boolean> {
    await sleep(5); // stands in for the lookup
    return domain !== FLAKY_DOMAIN || attempt > 1;
  }
}
