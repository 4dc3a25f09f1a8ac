import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { SpanKind } from '@opentelemetry/api';
import {
  ContextualTaskSpan,
  DefaultTaskSpan,
  getTracedQueueToken,
  JobTracingModule,
  processSpanName,
  TraceTask,
  type TracedQueue,
} from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, uniqueQueueName } from './support/queues.js';
import { inRequest, parentSpanId, spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

describe('messaging semantic conventions on spans', () => {
  it('gives the send and process spans the required messaging attributes, and keeps task_id and attempt', async () => {
    const queueName = uniqueQueueName('conventions');

    @Processor(queueName)
    @TraceTask(new ContextualTaskSpan())
    class ConventionsProcessor extends WorkerHost {
      async process() {
        return 'done';
      }
    }

    state.app = await startApp({
      imports: [BullModule.registerQueue({ name: queueName }), JobTracingModule.forFeature(queueName)],
      providers: [ConventionsProcessor],
    });
    const traced = state.app.get<TracedQueue>(getTracedQueueToken(queueName));
    const job = await inRequest(() => traced.add('welcome', {}));
    await finished(job);

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const [send] = spansNamed(spans, `send ${queueName}`);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'bullmq',
      'messaging.operation.name': 'add',
      'messaging.operation.type': 'send',
      'messaging.destination.name': queueName,
      'messaging.message.id': job.id,
    });
    const [task] = spansNamed(spans, 'task', queueName);
    expect(task.kind).toBe(SpanKind.CONSUMER);
    expect(task.attributes).toMatchObject({
      task_id: job.id,
      attempt: 1,
      'messaging.system': 'bullmq',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': queueName,
      'messaging.message.id': job.id,
    });
  });

  it('names spans `process <queue>` when a strategy is given processSpanName, for both built-ins', async () => {
    const contextual = uniqueQueueName('process-name');
    const plain = uniqueQueueName('process-name-default');

    @Processor(contextual)
    @TraceTask(new ContextualTaskSpan({ name: processSpanName }))
    class ContextualProcessor extends WorkerHost {
      async process() {
        return 'done';
      }
    }

    @Processor(plain)
    class PlainProcessor extends WorkerHost {
      async process() {
        return 'done';
      }
    }

    state.app = await startApp({
      tracing: { makeSpan: new DefaultTaskSpan({ name: processSpanName }) },
      imports: [BullModule.registerQueue({ name: contextual }, { name: plain }), JobTracingModule.forFeature(contextual, plain)],
      providers: [ContextualProcessor, PlainProcessor],
    });
    await finished(await inRequest(() => state.app!.get<TracedQueue>(getTracedQueueToken(contextual)).add('a', {})));
    await finished(await state.app.get<TracedQueue>(getTracedQueueToken(plain)).add('b', {}));

    const spans = await waitForSpans(
      state.exporter,
      (all) => spansNamed(all, `process ${contextual}`).length === 1 && spansNamed(all, `process ${plain}`).length === 1,
    );
    const [processSpan] = spansNamed(spans, `process ${contextual}`);
    expect(parentSpanId(processSpan)).toBe(spansNamed(spans, `send ${contextual}`)[0].spanContext().spanId);
    expect(spansNamed(spans, 'task')).toHaveLength(0);
  });
});
