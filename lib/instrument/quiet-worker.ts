import { Worker } from 'bullmq';
import { runQuietly } from '../context/quiet-context.js';

/** One application's say on which Workers' own Redis commands run untraced. */
export interface QuietWorkers {
  /** Whether `worker` is one this application traces and keeps quiet. Asked once per Worker. */
  quiets(worker: Worker): boolean;
}

/**
 * The Worker methods that only talk to Redis for BullMQ: the fetch loop (`moveToActive`, the blocking
 * `waitForJob`), lock renewal (`extendJobLocks`), stalled checks (`moveStalledJobsToWait`) and the
 * moves after an attempt (`handleCompleted`, `handleFailed`, `moveLimitedBackToWait`). The processor
 * runs outside all of them (`processJob` calls it), so its own commands stay traced.
 */
const QUIET_METHODS = [
  'moveToActive',
  'waitForJob',
  'extendJobLocks',
  'moveStalledJobsToWait',
  'handleCompleted',
  'handleFailed',
  'moveLimitedBackToWait',
] as const;

const owners = new Set<QuietWorkers>();
const decided = new WeakMap<Worker, boolean>();
const PATCHED = Symbol.for('nestjs-job-tracing.quiet-worker-patched');

/**
 * Extends those methods on Worker's prototype, once per process. Only Workers an application
 * claims are quieted: the others, the Workers of code that does not use this library, run as before.
 */
export function addQuietWorkers(owner: QuietWorkers): () => void {
  const prototype = Worker.prototype as unknown as Record<string, unknown> & { [PATCHED]?: true };
  if (!prototype[PATCHED]) {
    for (const name of QUIET_METHODS) {
      const original = prototype[name];
      if (typeof original !== 'function') continue; // absent from this BullMQ version
      prototype[name] = function quietly(this: Worker) {
        // Arguments forwarded as they came: BullMQ reads some methods' arity-dependent defaults.
        return isQuiet(this) ? runQuietly(original as () => unknown, this, ...(arguments as unknown as [])) : original.apply(this, arguments);
      };
    }
    prototype[PATCHED] = true;
  }
  owners.add(owner);
  return () => owners.delete(owner);
}

// The first call comes after the Worker's constructor returned (its loops start after an await),
// by when @nestjs/bullmq has handed the Worker to its processor class.
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
