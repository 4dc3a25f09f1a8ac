import { getFlowProducerToken, getQueueToken } from '@nestjs/bullmq';
import type { ModuleRef } from '@nestjs/core';
import type { JobTracingFeatures } from '../interfaces/job-tracing-options.interface.js';

/** Thrown at start-up when `forFeature` is used without `forRoot`. */
export function missingForRootError(features: JobTracingFeatures): Error {
  return new Error(
    `JobTracingModule.forFeature(${describe(features)}) needs JobTracingModule.forRoot() ` +
      '(or forRootAsync()) imported once in the application, e.g. in AppModule.',
  );
}

/**
 * Every queue and flow producer given to `forFeature` must be registered with BullModule
 * somewhere in the application; checked once all providers exist, so import order does not matter.
 */
export function checkFeatureRegistration(moduleRef: ModuleRef, features: JobTracingFeatures): void {
  const queues = (features.queues ?? []).filter((name) => !isRegistered(moduleRef, getQueueToken(name)));
  const flowProducers = (features.flowProducers ?? []).filter(
    (name) => !isRegistered(moduleRef, getFlowProducerToken(name)),
  );
  const fixes = [
    ...queues.map((name) => `BullModule.registerQueue({ name: '${name}' })`),
    ...flowProducers.map((name) => `BullModule.registerFlowProducer({ name: '${name}' })`),
  ];
  if (fixes.length) {
    const missing = [...queues.map((name) => `queue '${name}'`), ...flowProducers.map((name) => `flow producer '${name}'`)];
    throw new Error(
      `JobTracingModule.forFeature(${describe(features)}): no ${missing.join(', no ')} is registered. ` +
        `Register it with ${fixes.join(', ')}, or correct the name.`,
    );
  }
}

function isRegistered(moduleRef: ModuleRef, token: string): boolean {
  try {
    moduleRef.get(token, { strict: false });
    return true;
  } catch {
    return false;
  }
}

function describe({ queues = [], flowProducers = [] }: JobTracingFeatures): string {
  const quoted = (names: string[]) => names.map((name) => `'${name}'`).join(', ');
  return flowProducers.length ? `{ queues: [${quoted(queues)}], flowProducers: [${quoted(flowProducers)}] }` : quoted(queues);
}
