import { Worker } from 'bullmq';
import { runQuietly } from '../context/quiet-context.js';
import { processGlobal } from '../process-global.js';
import { keepBullmqTelemetrySpans } from './bullmq-telemetry.js';

/** One application's say on which Workers' own Redis commands run untraced. */
export interface QuietWorkers {
  /** Whether `worker` is one this application traces and keeps quiet. Asked once per Worker. */
  quiets(worker: Worker): boolean;
}

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

// One registry for every copy of this package: whichever copy patches a Worker class asks all of them.
const owners = processGlobal('quiet-worker-owners', () => new Set<QuietWorkers>());
const decided = processGlobal('quiet-worker-decisions', () => new WeakMap<Worker, boolean>());
const PATCHED = Symbol.for('nestjs-job-tracing.quiet-worker-patched');

/**
 * Extends those methods on Worker's prototype, once per process. Only Workers an application
 * claims are quieted: the others, the Workers of code that does not use this library, run as before.
 */
export function addQuietWorkers(owner: QuietWorkers): () => void {
  const prototype = Worker.prototype as unknown as Record<string, Method | undefined> & { [PATCHED]?: true };
  if (!prototype[PATCHED]) {
    const quietly = (original: Method): Method => function quietly(this: Worker) {
      return isQuiet(this) ? runQuietly(original, this, ...arguments) : original.apply(this, arguments as unknown as unknown[]);
    };
    for (const name of QUIET_METHODS) patch(prototype, name, quietly);
    if (!prototype.mainLoop) patch(prototype, QUIET_LOOP_BEFORE_6, quietly);
    prototype[PATCHED] = true;
  }
  keepBullmqTelemetrySpans();
  owners.add(owner);
  return () => owners.delete(owner);
}

function patch(prototype: Record<string, Method | undefined>, name: string, wrap: (original: Method) => Method): void {
  const original = prototype[name];
  if (typeof original === 'function') prototype[name] = wrap(original); // absent from this BullMQ version: left alone
}

// In BullMQ 6 the first call comes after the Worker's constructor returned (`run` awaits before its
// loop starts), by when @nestjs/bullmq has handed the Worker to its processor class; in BullMQ 5,
// from the constructor, when the Worker's processor is all there is to know it by.
function isQuiet(worker: Worker): boolean {
  let quiet = decided.get(worker);
  if (quiet === undefined) {
    quiet = false;
    for (const owner of owners) {
      if (owner.quiets(worker)) {
        quiet = true;
        break;
      }
    }
    decided.set(worker, quiet);
  }
  return quiet;
}
