import { type Job, type Processor, Worker } from 'bullmq';
import { processGlobal } from '../process-global.js';

/** One application's handle on the workers that @nestjs/bullmq builds for `registerQueue({ processors })`. */
export interface WorkerProcessTracing {
  /**
   * Runs one job of `worker` traced, when this application registered the worker's
   * processor inline; returns undefined when the worker is not this application's to trace.
   */
  process(worker: Worker, job: Job, token?: string, signal?: AbortSignal): Promise<unknown> | undefined;
}

// One registry for every copy of this package: whichever copy patches first dispatches to all.
const tracings = processGlobal('worker-process-tracings', () => new Set<WorkerProcessTracing>());
const PATCHED = Symbol.for('nestjs-job-tracing.worker-process-patched');

/**
 * Inline and sandboxed processors never pass through ProcessorDecoratorService:
 * @nestjs/bullmq hands them straight to `new Worker(...)`. Every job of a Worker
 * goes through its `callProcessJob` (the method APM agents wrap), so that is
 * extended on the prototype, once per process, and asks each application in turn.
 */
export function addWorkerProcessTracing(tracing: WorkerProcessTracing): () => void {
  const prototype = Worker.prototype as unknown as {
    callProcessJob(job: Job, token?: string, signal?: AbortSignal): Promise<unknown>;
    [PATCHED]?: true;
  };
  if (!prototype[PATCHED]) {
    const original = prototype.callProcessJob;
    prototype.callProcessJob = function callProcessJob(this: Worker, job, token, signal) {
      for (const candidate of tracings) {
        const traced = candidate.process(this, job, token, signal);
        if (traced) return traced;
      }
      return original.call(this, job, token, signal);
    };
    prototype[PATCHED] = true;
  }
  tracings.add(tracing);
  return () => tracings.delete(tracing);
}

/** The function a Worker runs for each job (BullMQ keeps it in a protected field). */
export function processorOf(worker: Worker): Processor | undefined {
  const processFn = (worker as unknown as { processFn?: unknown }).processFn;
  return typeof processFn === 'function' ? (processFn as Processor) : undefined;
}
