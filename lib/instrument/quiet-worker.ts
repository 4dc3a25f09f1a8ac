import { Worker } from 'bullmq';
import { runQuietly } from '../context/quiet-context.js';
import { keepBullmqTelemetrySpans } from './bullmq-telemetry.js';
import { type TracedWorkers, TracedWorkerRegistry } from './traced-workers.js';

type Method = (this: Worker, ...args: unknown[]) => unknown;

/**
 * Where BullMQ's own commands start, each patched to run with tracing suppressed:
 * - `mainLoop`, once per run: the fetch loop (`moveToActive`, the blocking poll) and, per job,
 *   `processJob` with the moves after the attempt. The processor inside gets the context from
 *   before the suppression (the explorers read it with `openContext`), so its own commands and
 *   spans stay traced, at no cost per job;
 * - `extendJobLocks` and `moveStalledJobsToWait`: lock renewal and stalled checks, on timers of
 *   their own (BullMQ detaches the stalled checker's context when telemetry is on).
 * bullmq-otel's spans inside (`process`, `moveStalledJobsToWait`) are kept: bullmq-telemetry.ts.
 */
const QUIET_METHODS = ['mainLoop', 'extendJobLocks', 'moveStalledJobsToWait'] as const;
/** BullMQ 5 has no `mainLoop`: its loop, lock renewal and moves run inside `run`, which the constructor calls. */
const QUIET_LOOP_BEFORE_6 = 'run';

// Whichever copy of this package patches a Worker class asks the applications of all of them. BullMQ 6
// first asks after the Worker's constructor returned (`run` awaits before its loop starts); BullMQ 5 from
// the constructor, when the Worker's processor is all there is to know it by.
const quietWorkers = new TracedWorkerRegistry('quiet-worker');
const PATCHED = Symbol.for('nestjs-job-tracing.quiet-worker-patched');

/**
 * Extends those methods on Worker's prototype, once per process. Only Workers an application
 * claims are quieted: the others, the Workers of code that does not use this library, run as before.
 */
export function addQuietWorkers(owner: TracedWorkers): () => void {
  const prototype = Worker.prototype as unknown as Record<string, Method | undefined> & { [PATCHED]?: true };
  if (!prototype[PATCHED]) {
    const quietly = (original: Method): Method => function quietly(this: Worker) {
      return quietWorkers.includes(this) ? runQuietly(original, this, ...arguments) : original.apply(this, arguments as unknown as unknown[]);
    };
    for (const name of QUIET_METHODS) patch(prototype, name, quietly);
    if (!prototype.mainLoop) patch(prototype, QUIET_LOOP_BEFORE_6, quietly);
    prototype[PATCHED] = true;
  }
  keepBullmqTelemetrySpans();
  return quietWorkers.add(owner);
}

function patch(prototype: Record<string, Method | undefined>, name: string, wrap: (original: Method) => Method): void {
  const original = prototype[name];
  if (typeof original === 'function') prototype[name] = wrap(original); // absent from this BullMQ version: left alone
}
