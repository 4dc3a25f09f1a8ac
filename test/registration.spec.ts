import { describe, expect, it } from '@jest/globals';
import { BullModule, BullRegistrar, Processor, WorkerHost } from '@nestjs/bullmq';
import { type DynamicModule, type INestApplicationContext, Module, Scope, type Type } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { Test } from '@nestjs/testing';
import { JobTracingModule } from '../lib/index.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, redisConnection, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

function featureModule(queueName: string, scope = Scope.DEFAULT): Type {
  @Processor({ name: queueName, scope })
  class FeatureProcessor extends WorkerHost {
    async process() {
      return 'done';
    }
  }

  @Module({ imports: [BullModule.registerQueue({ name: queueName })], providers: [FeatureProcessor] })
  class FeatureModule {}
  return FeatureModule;
}

async function start(imports: Array<Type | DynamicModule>): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({ imports }).compile();
  return moduleRef.init();
}

async function expectTaskSpanFor(queueName: string): Promise<void> {
  await queueOf(state.app!, queueName).add('job', {});
  const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
  expect(spansNamed(spans, 'task', queueName)[0].attributes.attempt).toBe(1);
}

const ORDERS: Array<Array<'tracing' | 'bull' | 'feature'>> = [
  ['tracing', 'bull', 'feature'],
  ['tracing', 'feature', 'bull'],
  ['bull', 'tracing', 'feature'],
  ['bull', 'feature', 'tracing'],
  ['feature', 'tracing', 'bull'],
  ['feature', 'bull', 'tracing'],
];

describe('registration', () => {
  it.each(ORDERS)('traces processors with modules imported as %s, %s, %s', async (...order) => {
    const queueName = uniqueQueueName('order');
    const modules = {
      tracing: JobTracingModule.forRoot(),
      bull: BullModule.forRoot({ connection: redisConnection() }),
      feature: featureModule(queueName),
    };
    state.app = await start(order.map((name) => modules[name]));
    await expectTaskSpanFor(queueName);
  });

  it('configures with forRootAsync', async () => {
    const queueName = uniqueQueueName('async');
    state.app = await start([
      featureModule(queueName),
      JobTracingModule.forRootAsync({ useFactory: async () => ({ level: 'info' }) }),
      BullModule.forRoot({ connection: redisConnection() }),
    ]);
    await expectTaskSpanFor(queueName);
  });

  it('traces request-scoped processors', async () => {
    const queueName = uniqueQueueName('scoped');
    state.app = await start([
      JobTracingModule.forRoot(),
      BullModule.forRoot({ connection: redisConnection() }),
      featureModule(queueName, Scope.REQUEST),
    ]);
    await expectTaskSpanFor(queueName);
  });

  it('traces processors registered manually after init', async () => {
    const queueName = uniqueQueueName('manual');
    const app = (state.app = await start([
      BullModule.forRoot({ connection: redisConnection(), extraOptions: { manualRegistration: true } }),
      featureModule(queueName),
      JobTracingModule.forRoot(),
    ]));
    app.get(BullRegistrar).register();
    await expectTaskSpanFor(queueName);
  });

  it('does not leak a span active while the workers were built into job spans (bullmq #4731)', async () => {
    const queueName = uniqueQueueName('leak');
    await trace.getTracer('test').startActiveSpan('bootstrap', async (bootstrap) => {
      state.app = await start([
        JobTracingModule.forRoot(),
        BullModule.forRoot({ connection: redisConnection() }),
        featureModule(queueName),
      ]);
      bootstrap.end();
    });
    await expectTaskSpanFor(queueName);
    const [task] = spansNamed(state.exporter.getFinishedSpans(), 'task', queueName);
    const [bootstrap] = spansNamed(state.exporter.getFinishedSpans(), 'bootstrap');
    expect(task.parentSpanContext).toBeUndefined();
    expect(task.spanContext().traceId).not.toBe(bootstrap.spanContext().traceId);
  });

  it('stops tracing once the application is closed', async () => {
    const queueName = uniqueQueueName('closed');
    const tracedApp = await start([
      JobTracingModule.forRoot(),
      BullModule.forRoot({ connection: redisConnection() }),
      featureModule(queueName),
    ]);
    await tracedApp.close();
    // A second application without the module, in the same process, stays untraced.
    const app = (state.app = await start([BullModule.forRoot({ connection: redisConnection() }), featureModule(queueName)]));
    const job = await queueOf(app, queueName).add('job', {});
    expect(await finished(job)).toBe('done');
    expect(spansNamed(state.exporter.getFinishedSpans(), 'task', queueName)).toHaveLength(0);
  });

  it('leaves alone the workers of another application in the same process', async () => {
    const queueName = uniqueQueueName('neighbour');
    // Tracing without BullModule, alive while an untraced app registers its workers.
    const tracingOnly = await start([JobTracingModule.forRoot()]);
    try {
      const app = (state.app = await start([
        BullModule.forRoot({ connection: redisConnection() }),
        featureModule(queueName),
      ]));
      expect(await finished(await queueOf(app, queueName).add('job', {}))).toBe('done');
      expect(spansNamed(state.exporter.getFinishedSpans(), 'task', queueName)).toHaveLength(0);
    } finally {
      await tracingOnly.close();
    }
  });
});
