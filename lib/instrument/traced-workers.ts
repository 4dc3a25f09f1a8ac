import type { Worker } from 'bullmq';
import { processGlobal } from '../process-global.js';

/** One application's say on which Workers it traces. */
export interface TracedWorkers {
  /** Whether this application traces `worker`'s jobs: not a @SkipTaskTracing processor's, nor a Worker built by other code. */
  traces(worker: Worker): boolean;
}

/**
 * The applications a patch point asks about each Worker, and the answer kept per Worker:
 * a patch on Worker's prototype sees every Worker of the process, and changes only the traced ones.
 * Process-global, so that both builds of this package, loaded in one process, share it.
 */
export class TracedWorkerRegistry {
  private readonly owners: Set<TracedWorkers>;
  private readonly decided: WeakMap<Worker, boolean>;

  constructor(patchPoint: string) {
    this.owners = processGlobal(`${patchPoint}-owners`, () => new Set<TracedWorkers>());
    this.decided = processGlobal(`${patchPoint}-decisions`, () => new WeakMap<Worker, boolean>());
  }

  add(owner: TracedWorkers): () => void {
    this.owners.add(owner);
    return () => this.owners.delete(owner);
  }

  /** Asked once per Worker: by then @nestjs/bullmq has linked the Worker to its processor class. */
  includes(worker: Worker): boolean {
    let traced = this.decided.get(worker);
    if (traced === undefined) {
      traced = false;
      for (const owner of this.owners) {
        if (owner.traces(worker)) {
          traced = true;
          break;
        }
      }
      this.decided.set(worker, traced);
    }
    return traced;
  }
}
