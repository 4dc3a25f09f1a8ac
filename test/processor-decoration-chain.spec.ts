import { describe, expect, it } from '@jest/globals';
import { BullModule, ProcessorDecoratorService, Processor, WorkerHost } from '@nestjs/bullmq';
import { type Span, trace } from '@opentelemetry/api';
import type { Processor as BullProcessor } from 'bullmq';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { finished, queueOf, uniqueQueueName } from './support/queues.js';
import { spansNamed, waitForSpans } from './support/tracing.js';

const state = useTracingPerTest();

// Another library (or the app) that decorates processors through the same seam, installed
// before JobTracingModule: this file's module registry is its own, so the prototype is fresh.
const seenByOtherDecoration: Array<Span | undefined> = [];
const originalDecorate = ProcessorDecoratorService.prototype.decorate;
ProcessorDecoratorService.prototype.decorate = function (processor: BullProcessor): BullProcessor {
  const decorated = originalDecorate.call(this, processor);
  return (...args) => {
    seenByOtherDecoration.push(trace.getActiveSpan());
    return decorated(...args);
  };
};

describe('the processor seam', () => {
  it("keeps another decoration of the processor, running it inside the job's span", async () => {
    const queueName = uniqueQueueName('chain');
    @Processor(queueName)
    class ChainedProcessor extends WorkerHost {
      async process() {
        return 'done';
      }
    }
    state.app = await startApp({ imports: [BullModule.registerQueue({ name: queueName })], providers: [ChainedProcessor] });

    expect(await finished(await queueOf(state.app, queueName).add('job', {}))).toBe('done');

    const spans = await waitForSpans(state.exporter, (all) => spansNamed(all, 'task', queueName).length === 1);
    const [task] = spansNamed(spans, 'task', queueName);
    expect(seenByOtherDecoration).toHaveLength(1);
    expect(seenByOtherDecoration[0]?.spanContext().spanId).toBe(task.spanContext().spanId);
  });
});
