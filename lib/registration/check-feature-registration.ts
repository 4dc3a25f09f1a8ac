import { getQueueToken } from '@nestjs/bullmq';
import type { ModuleRef } from '@nestjs/core';

/** Thrown at start-up when `forFeature` cannot work as configured. */
export function missingForRootError(queueNames: string[]): Error {
  return new Error(
    `JobTracingModule.forFeature(${quoted(queueNames)}) needs JobTracingModule.forRoot() ` +
      '(or forRootAsync()) imported once in the application, e.g. in AppModule.',
  );
}

/**
 * Every queue given to `forFeature` must be registered with BullModule somewhere
 * in the application; checked once all providers exist, so import order does not matter.
 */
export function checkFeatureRegistration(moduleRef: ModuleRef, queueNames: string[]): void {
  const missing = queueNames.filter((queueName) => !isRegistered(moduleRef, getQueueToken(queueName)));
  if (missing.length) {
    throw new Error(
      `JobTracingModule.forFeature(${quoted(queueNames)}): no queue ${quoted(missing)} is registered. ` +
        `Register it with ${missing.map((name) => `BullModule.registerQueue({ name: '${name}' })`).join(', ')}, ` +
        'or correct the name.',
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

function quoted(names: string[]): string {
  return names.map((name) => `'${name}'`).join(', ');
}
