import type { WorkerHost } from '@nestjs/bullmq';

/** The Worker @nestjs/bullmq gave a processor class, or undefined before it registered one (e.g. with manualRegistration). */
export function workerOf(host: WorkerHost): WorkerHost['worker'] | undefined {
  try {
    return host.worker;
  } catch {
    return undefined; // WorkerHost's getter throws until the Worker exists
  }
}
