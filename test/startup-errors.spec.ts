import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InvalidTracingContextError, JobTracingModule, SkipTaskTracing, TraceTask, TracingContext } from '../lib/index.js';
import { initOrClose } from './support/app.js';
import { redisConnection, uniqueQueueName } from './support/queues.js';

async function start(imports: Array<Type | DynamicModule>): Promise<void> {
  const app = await initOrClose(await Test.createTestingModule({ imports }).compile());
  await app.close();
}

describe('start-up errors', () => {
  it('names forRoot when forFeature is imported without it', async () => {
    const queueName = uniqueQueueName('no-root');
    await expect(
      // No queue is registered: the app fails while its providers are built, before it could be closed.
      start([BullModule.forRoot({ connection: redisConnection() }), JobTracingModule.forFeature(queueName)]),
    ).rejects.toThrow(`JobTracingModule.forFeature('${queueName}') needs JobTracingModule.forRoot()`);
  });

  it('names BullModule.registerQueue at start-up when forFeature names an unregistered queue', async () => {
    const registered = uniqueQueueName('registered');
    const misspelled = uniqueQueueName('misspelled');
    await expect(
      start([
        JobTracingModule.forRoot(),
        BullModule.forRoot({ connection: redisConnection() }),
        BullModule.registerQueue({ name: registered }),
        JobTracingModule.forFeature(registered, misspelled),
      ]),
    ).rejects.toThrow(`no queue '${misspelled}' is registered. Register it with BullModule.registerQueue({ name: '${misspelled}' })`);
  });

  it('accepts a queue registered in a module imported after forFeature', async () => {
    const queueName = uniqueQueueName('later');
    @Module({ imports: [BullModule.registerQueue({ name: queueName })] })
    class QueuesModule {}
    await expect(
      start([
        JobTracingModule.forFeature(queueName),
        JobTracingModule.forRoot(),
        QueuesModule,
        BullModule.forRoot({ connection: redisConnection() }),
      ]),
    ).resolves.toBeUndefined();
  });
});

describe('new TracingContext(...)', () => {
  const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
  const SPAN_ID = '00f067aa0ba902b7';

  it.each([
    ['traceId', () => new TracingContext('bad', 'nope', 1)],
    ['spanId', () => new TracingContext(TRACE_ID, 'nope', 1)],
    ['traceFlags', () => new TracingContext(TRACE_ID, SPAN_ID, 256)],
    ['traceState', () => new TracingContext(TRACE_ID, SPAN_ID, 1, 'not a list member')],
    ['traceId', () => new TracingContext('0'.repeat(32))],
  ])('rejects a bad %s as the builder does', (field, build) => {
    expect(build).toThrow(InvalidTracingContextError);
    try {
      build();
    } catch (error) {
      expect((error as InvalidTracingContextError).field).toBe(field);
    }
  });

  it('accepts what the builder accepts', () => {
    const built = new TracingContext().withTraceId(TRACE_ID).withSpanId(SPAN_ID).withTraceFlags(1).withTraceState('rojo=1');
    expect(new TracingContext(TRACE_ID, SPAN_ID, 1, 'rojo=1')).toEqual(built);
    expect(new TracingContext(TRACE_ID, SPAN_ID, 1, '').traceState).toBeUndefined();
  });
});

describe('@TraceTask and @SkipTaskTracing placement', () => {
  it.each([
    ['TraceTask', TraceTask],
    ['SkipTaskTracing', SkipTaskTracing],
  ])('@%s on a method other than process throws when the class is defined', (name, decorator) => {
    expect(() => {
      @Processor('never-registered')
      class MisplacedProcessor extends WorkerHost {
        async process() {}

        @decorator()
        async handle() {}
      }
      return MisplacedProcessor;
    }).toThrow(`@${name}() on MisplacedProcessor.handle(): put it on the processor class or on its process() method.`);
  });
});
