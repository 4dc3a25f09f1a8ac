import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { Worker } from 'bullmq';
import { openContext, quietContext } from '../lib/context/quiet-context.js';
import { SkipTaskTracing, type TraceBullmqCommands } from '../lib/index.js';
import { startApp } from './support/app.js';
import { finished, queueOf, redisConnection, uniqueQueueName } from './support/queues.js';
import { setupTracing, spansNamed, waitForSpans } from './support/tracing.js';

describe('the suppression key', () => {
  it('is the one the SDK reads, and an application\'s own suppression is neither lifted nor added to', () => {
    const open = trace.setSpanContext(ROOT_CONTEXT, { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 });
    const quiet = quietContext(open);
    expect(isTracingSuppressed(quiet)).toBe(true);
    expect(openContext(quiet)).toBe(open);

    const suppressedByApp = suppressTracing(open);
    expect(quietContext(suppressedByApp)).toBe(suppressedByApp);
    expect(isTracingSuppressed(openContext(quietContext(suppressedByApp)))).toBe(true);
  });
});

/** Whether each of BullMQ's fetches and moves on `worker` ran with tracing suppressed, seen from its backend. */
function watchBackend(worker: Worker): boolean[] {
  const seen: boolean[] = [];
  const backend = (worker as unknown as { backend: Record<string, (...args: unknown[]) => unknown> }).backend;
  for (const name of ['moveToActive', 'moveToCompleted']) {
    const original = backend[name].bind(backend);
    backend[name] = (...args: unknown[]) => {
      seen.push(isTracingSuppressed(context.active()));
      return original(...args);
    };
  }
  return seen;
}

async function runOneJob(app: INestApplicationContext, queueName: string): Promise<void> {
  await finished(await queueOf(app, queueName).add('job', {}));
}

// One SDK for the file: OpenTelemetry registers a global provider once.
let exporter: InMemorySpanExporter;
beforeAll(() => {
  exporter = setupTracing();
});

for (const traceBullmqCommands of [false, { worker: true }] as TraceBullmqCommands[]) {
  describe(`which Workers run BullMQ's commands untraced (traceBullmqCommands: ${JSON.stringify(traceBullmqCommands)})`, () => {
    let app: INestApplicationContext;
    let plain: Worker;
    const traced = uniqueQueueName('quiet-traced');
    const skipped = uniqueQueueName('quiet-skipped');
    const byHand = uniqueQueueName('quiet-by-hand');
    const insideHandlers: boolean[] = [];

    @Processor(traced)
    class TracedProcessor extends WorkerHost {
      async process() {
        insideHandlers.push(isTracingSuppressed(context.active()));
        trace.getTracer('app').startSpan('user work').end();
      }
    }

    @Processor(skipped)
    @SkipTaskTracing()
    class SkippedProcessor extends WorkerHost {
      async process() {
        insideHandlers.push(isTracingSuppressed(context.active()));
      }
    }

    beforeAll(async () => {
      app = await startApp({
        tracing: { traceBullmqCommands },
        imports: [BullModule.registerQueue({ name: traced }, { name: skipped }, { name: byHand })],
        providers: [TracedProcessor, SkippedProcessor],
      });
      // A Worker of code that does not use the library, in the same process.
      plain = new Worker(byHand, async () => 'plain', { connection: redisConnection() });
      await plain.waitUntilReady();
    });

    afterAll(async () => {
      await plain?.close();
      await app?.close();
    });

    it('quiets only the traced @Processor\'s Worker, and never the handler', async () => {
      const seenTraced = watchBackend(app.get(TracedProcessor).worker);
      const seenSkipped = watchBackend(app.get(SkippedProcessor).worker);
      const seenPlain = watchBackend(plain);
      await runOneJob(app, traced);
      await runOneJob(app, skipped);
      await runOneJob(app, byHand);

      expect(seenTraced.length).toBeGreaterThan(0);
      expect(new Set(seenTraced)).toEqual(new Set([traceBullmqCommands === false]));
      expect(new Set(seenSkipped)).toEqual(new Set([false]));
      expect(new Set(seenPlain)).toEqual(new Set([false]));
      expect(insideHandlers).toEqual([false, false]);
      const spans = await waitForSpans(exporter, (all) => spansNamed(all, 'task', traced).length === 1);
      const [task] = spansNamed(spans, 'task', traced);
      const userWork = spansNamed(spans, 'user work').filter((span) => span.spanContext().traceId === task.spanContext().traceId);
      expect(userWork.map((span) => span.parentSpanContext?.spanId)).toEqual([task.spanContext().spanId]);
    });
  });
}
