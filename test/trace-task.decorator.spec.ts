import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
// nestjs-otel's entry point require()s ESM @nestjs/common, which Jest's module
// registry refuses as a cycle; the decorator's own file needs only the OTel API.
// (The sample app uses the public entry point outside Jest.)
import { Span } from 'nestjs-otel/lib/tracing/decorators/span.js';
import { type MakeSpan, SpanLevel, type TaskSpan, TraceTask } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { parentSpanId, spansNamed, waitForSpans } from './support/tracing.js';

class NamedTaskSpan implements MakeSpan {
  makeSpan(job: Job): TaskSpan {
    return { name: `named ${job.queueName}`, level: SpanLevel.INFO };
  }
}

const state = useTracingPerTest();

describe('@TraceTask beside nestjs-otel’s @Span', () => {
  it('keeps its strategy when @Span wraps process after it', async () => {
    const queueName = uniqueQueueName('span-outer');

    @Processor(queueName)
    class OuterSpanProcessor extends WorkerHost {
      @Span('inner work')
      @TraceTask(new NamedTaskSpan())
      async process(job: Job) {
        return job.data.n + 1;
      }
    }

    await expectNestedSpans(queueName, OuterSpanProcessor);
  });

  it('keeps its strategy when @Span is applied first', async () => {
    const queueName = uniqueQueueName('span-inner');

    @Processor(queueName)
    class InnerSpanProcessor extends WorkerHost {
      @TraceTask(new NamedTaskSpan())
      @Span('inner work')
      async process(job: Job) {
        return job.data.n + 1;
      }
    }

    await expectNestedSpans(queueName, InnerSpanProcessor);
  });
});

async function expectNestedSpans(queueName: string, processor: new () => WorkerHost): Promise<void> {
  state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [processor] });
  const job = await queueOf(state.app, queueName).add('job', { n: 41 });
  expect(await finished(job)).toBe(42);
  const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'inner work').length === 1);
  const [task] = spansNamed(spans, `named ${queueName}`);
  const [inner] = spansNamed(spans, 'inner work');
  expect(task).toBeDefined();
  expect(parentSpanId(inner)).toBe(task.spanContext().spanId);
}
