import type { TraceBullmqCommands } from '../interfaces/job-tracing-options.interface.js';

/** `traceBullmqCommands` resolved: `true` where BullMQ's commands at that patch point stay traced. */
export interface TracedBullmqCommands {
  worker: boolean;
  producer: boolean;
  retryLinks: boolean;
}

export function tracedBullmqCommands(option: TraceBullmqCommands | undefined): TracedBullmqCommands {
  if (option === undefined || typeof option === 'boolean') {
    const all = option === true;
    return { worker: all, producer: all, retryLinks: all };
  }
  if (typeof option !== 'object' || option === null) {
    throw new TypeError(`traceBullmqCommands must be a boolean or { worker?, producer?, retryLinks? }, not ${String(option)}`);
  }
  return { worker: option.worker === true, producer: option.producer === true, retryLinks: option.retryLinks === true };
}
