import { type Job, Worker } from 'bullmq';
import { runTraced } from '../context/quiet-context.js';
import { attemptContextOf, holdActiveEvent, takeActiveEvent } from '../tracing/attempt-context.js';
import { withinTask } from '../tracing/task-scope.js';
import { type TracedWorkers, TracedWorkerRegistry } from './traced-workers.js';

type Emit = (this: Worker, event: string | symbol, ...args: unknown[]) => boolean;

const attemptEventWorkers = new TracedWorkerRegistry('worker-events');
const PATCHED = Symbol.for('nestjs-job-tracing.worker-events-patched');

/**
 * Runs a Worker's event listeners (`@OnWorkerEvent` handlers and `worker.on(...)` alike) in the
 * context of the attempt the event is about, so they see its span and task fields:
 * - `active`, which BullMQ emits when it fetches the job, before the attempt's span exists, is held
 *   back on the Job and emitted by the attempt inside its span, just before the processor runs
 *   (worker-process-hook.ts emits it there for an attempt that is not traced after all);
 * - `completed` and `failed`, which BullMQ emits after the attempt, run in the ended attempt's context;
 * - `progress` comes from inside the processor, in the attempt's context already.
 * Only the Workers of traced processors hold `active` back. Events without an attempt run as before,
 * except that a listener never inherits this library's suppression of BullMQ's commands.
 * Extended on the prototype, once per process; an event without listeners costs one count.
 */
export function runWorkerEventsInAttemptContext(owner: TracedWorkers): () => void {
  const prototype = Worker.prototype as unknown as { emit: Emit; [PATCHED]?: true };
  if (!prototype[PATCHED]) {
    const original = prototype.emit;
    prototype.emit = function emit(this: Worker, event: string | symbol) {
      const args = arguments as unknown as [string, ...unknown[]];
      if (this.listenerCount(event) === 0) return original.apply(this, args);
      const job = args[1];
      if (event === 'active' && attemptEventWorkers.includes(this) && typeof job === 'object' && job !== null) {
        holdActiveEvent(job as Job, () => emitLate(this, original, args));
        return true;
      }
      // An attempt that never ran (BullMQ fails a job it will not start) still announces it was active.
      takeActiveEvent(job)?.();
      const attemptContext = attemptContextOf(job);
      // withinTask: the attempt's task fields reach the listeners even with no context manager registered.
      if (attemptContext) return withinTask(attemptContext, original, this, ...args);
      return runTraced(original, this, ...args);
    };
    prototype[PATCHED] = true;
  }
  return attemptEventWorkers.add(owner);
}

/**
 * A held-back `active`, emitted in the attempt's context, or where none was made, outside this library's
 * suppression. Emitted late, a listener's error no longer reaches BullMQ's fetch loop: it goes to the
 * Worker's `error` listeners, where BullMQ reports its own errors, and never fails the job.
 */
function emitLate(worker: Worker, emit: Emit, args: [string, ...unknown[]]): void {
  try {
    runTraced(emit, worker, ...args);
  } catch (error) {
    if (worker.listenerCount('error') > 0) emit.call(worker, 'error', error);
  }
}
