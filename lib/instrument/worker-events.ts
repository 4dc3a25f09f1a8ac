import { context } from '@opentelemetry/api';
import { Worker } from 'bullmq';
import { contextBeforeQuiet } from '../context/quiet-context.js';
import { attemptContextOf } from '../tracing/attempt-context.js';
import { withinTask } from '../tracing/task-scope.js';

const PATCHED = Symbol.for('nestjs-job-tracing.worker-events-patched');

/**
 * Runs a Worker's event listeners (`@OnWorkerEvent` handlers and `worker.on(...)` alike) in the
 * context of the attempt the event is about: `completed` and `failed` come after the attempt, from
 * BullMQ's own code, and would otherwise see no trace and no task fields. Events without a traced
 * attempt run as before, except that a listener never inherits this library's suppression of
 * BullMQ's commands. Extended on the prototype, once per process; an event without listeners costs
 * one count.
 */
export function runWorkerEventsInAttemptContext(): void {
  const prototype = Worker.prototype as unknown as { emit(event: string | symbol, ...args: unknown[]): boolean; [PATCHED]?: true };
  if (prototype[PATCHED]) return;
  const original = prototype.emit;
  prototype.emit = function emit(this: Worker, event: string | symbol) {
    if (this.listenerCount(event) === 0) return original.apply(this, arguments as unknown as [string]);
    const args = arguments as unknown as [string, ...unknown[]];
    const attemptContext = attemptContextOf(args[1]);
    // withinTask: the attempt's task fields reach the listeners even with no context manager registered.
    if (attemptContext) return withinTask(attemptContext, original, this, ...args);
    const open = contextBeforeQuiet(context.active());
    return open ? context.with(open, original, this, ...args) : original.apply(this, args);
  };
  prototype[PATCHED] = true;
}
