import { describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import { metrics } from '@opentelemetry/api';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { getTracedQueueToken, JobTracingModule, type TracedQueue } from '../lib/index.js';
import { startApp } from './support/app.js';
import { useTracingPerTest } from './support/lifecycle.js';
import { pointsFor, setupMetrics } from './support/metrics.js';
import { finished, uniqueQueueName } from './support/queues.js';

const state = useTracingPerTest();

// The metrics API has no proxy meter: instruments taken before the application
// registers its MeterProvider must not stay no-ops.
describe('a MeterProvider registered after the library is in use', () => {
  it('receives the metrics of later jobs, and so does a provider that replaces it', async () => {
    const queueName = uniqueQueueName('late-provider');

    @Processor(queueName)
    class LateProcessor extends WorkerHost {
      async process() {
        return 'done';
      }
    }

    expect(metrics.getMeterProvider().constructor.name).toBe('NoopMeterProvider');
    state.app = await startApp({
      imports: [BullModule.registerQueue({ name: queueName }), JobTracingModule.forFeature(queueName)],
      providers: [LateProcessor],
    });
    const traced = state.app.get<TracedQueue>(getTracedQueueToken(queueName));
    await finished(await traced.add('before', {})); // recorded on the no-op meter

    const first = setupMetrics();
    await finished(await traced.add('after', {}));
    const [processed] = pointsFor<Histogram>(await first.collect(), 'messaging.process.duration', queueName);
    expect(processed.value.count).toBe(1);
    const [sent] = pointsFor(await first.collect(), 'messaging.client.sent.messages', queueName);
    expect(sent.value).toBe(1);
    // The attempt made before the provider existed is not counted on it.
    const [consumed] = pointsFor(await first.collect(), 'messaging.client.consumed.messages', queueName);
    expect(consumed.value).toBe(1);

    metrics.disable();
    const second = setupMetrics();
    await finished(await traced.add('replaced', {}));
    const [processedBySecond] = pointsFor<Histogram>(await second.collect(), 'messaging.process.duration', queueName);
    expect(processedBySecond.value.count).toBe(1);
    const [consumedBySecond] = pointsFor(await second.collect(), 'messaging.client.consumed.messages', queueName);
    expect(consumedBySecond.value).toBe(1);
    const [processedByFirst] = pointsFor<Histogram>(await first.collect(), 'messaging.process.duration', queueName);
    expect(processedByFirst.value.count).toBe(1);
  });
});
