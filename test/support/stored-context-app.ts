import { afterAll, beforeAll } from '@jest/globals';
import { BullModule, Processor, WorkerHost } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { Job } from 'bullmq';
import { type MakeSpan, TraceTask } from '../../lib/index.js';
import { startApp } from './app.js';
import { queueOf, uniqueQueueName } from './queues.js';
import { RecordingLogger } from './recording-logger.js';
import { spansNamed, waitForSpans } from './tracing.js';

export interface StoredContextApp {
  app: INestApplicationContext;
  logger: RecordingLogger;
  queueName: string;
  /** Each job, by the name it was added under. */
  jobs: Map<string, Job>;
}

export interface StoredContextJobs {
  /** The queue name's prefix. */
  queue: string;
  strategy: MakeSpan;
  /** Each job's name and the raw `opts.telemetry.metadata` stored on it; `undefined` stores no telemetry at all. */
  contexts: ReadonlyArray<readonly [string, unknown]>;
  /** What the processor does; by default it returns `ran <job name>`. */
  handle?: (job: Job) => Promise<unknown>;
}

/**
 * For the calling describe block: before its tests, an app with one processor under
 * `strategy` on a fresh queue runs one job per stored context (malformed and hostile
 * ones included, written as they are) to its task span; after them, the app closes.
 * The returned object is filled in before the tests run.
 */
export function withStoredContextJobs(exporter: () => InMemorySpanExporter, jobs: StoredContextJobs): StoredContextApp {
  const run = {} as StoredContextApp;
  beforeAll(async () => {
    Object.assign(run, await runStoredContextJobs(exporter(), jobs));
  });
  afterAll(async () => {
    await run.app?.close();
  });
  return run;
}

async function runStoredContextJobs(
  exporter: InMemorySpanExporter,
  { queue, strategy, contexts, handle = async (job) => `ran ${job.name}` }: StoredContextJobs,
): Promise<StoredContextApp> {
  const logger = new RecordingLogger();
  const queueName = uniqueQueueName(queue);

  @Processor(queueName)
  @TraceTask(strategy)
  class StoredContextProcessor extends WorkerHost {
    process(job: Job) {
      return handle(job);
    }
  }

  const app = await startApp({ logger, imports: [BullModule.registerQueue({ name: queueName })], providers: [StoredContextProcessor] });
  const jobs = new Map<string, Job>();
  for (const [name, metadata] of contexts) {
    const opts = metadata === undefined ? {} : { telemetry: { metadata: metadata as string } };
    jobs.set(name, await queueOf(app, queueName).add(name, {}, opts));
  }
  await waitForSpans(exporter, (spans) => spansNamed(spans, 'task', queueName).length === jobs.size);
  return { app, logger, queueName, jobs };
}
