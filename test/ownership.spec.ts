import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { type INestApplicationContext, Module, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Job } from 'bullmq';
import { DefaultTaskSpan, JobTracingModule } from '../lib/index.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, redisConnection, uniqueQueueName } from './support/queues.js';
import { waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

function featureModule(queueName: string): Type {
  @Processor(queueName)
  class OwnedProcessor extends WorkerHost {
    async process() {
      return 'done';
    }
  }
  @Module({ imports: [BullModule.registerQueue({ name: queueName })], providers: [OwnedProcessor] })
  class FeatureModule {}
  return FeatureModule;
}

describe('two applications in one process', () => {
  it('each traces only its own processors, with its own strategy and hooks', async () => {
    const queues = { a: uniqueQueueName('app-a'), b: uniqueQueueName('app-b') };
    const started: Record<'a' | 'b', string[]> = { a: [], b: [] };
    const apps: INestApplicationContext[] = [];
    try {
      for (const app of ['a', 'b'] as const) {
        const moduleRef = await Test.createTestingModule({
          imports: [
            JobTracingModule.forRoot({
              makeSpan: new DefaultTaskSpan({ name: `task of ${app}` }),
              onStart: (job: Job) => started[app].push(job.queueName),
            }),
            BullModule.forRoot({ connection: redisConnection() }),
            featureModule(queues[app]),
          ],
        }).compile();
        apps.push(await moduleRef.init());
      }
      const [appA, appB] = apps;
      await finished(await queueOf(appA, queues.a).add('job', {}));
      await finished(await queueOf(appB, queues.b).add('job', {}));

      const spans = await waitForSpans(state.exporter, (all) => all.length >= 2);
      const nameOn = (queueName: string) =>
        spans.filter((span) => span.attributes['messaging.destination.name'] === queueName).map((span) => span.name);
      expect(nameOn(queues.a)).toEqual(['task of a']);
      expect(nameOn(queues.b)).toEqual(['task of b']);
      expect(started).toEqual({ a: [queues.a], b: [queues.b] });
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });
});
