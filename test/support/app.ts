import { BullModule } from '@nestjs/bullmq';
import type { INestApplicationContext, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { JobTracingModule, type JobTracingModuleOptions } from '../../lib/index.js';
import { redisConnection } from './queues.js';

export interface TestAppOptions {
  tracing?: JobTracingModuleOptions;
  imports?: ModuleMetadata['imports'];
  providers?: ModuleMetadata['providers'];
  logger?: LoggerService;
}

/** A Nest application context with BullModule on the test Redis and JobTracingModule. */
export async function startApp(options: TestAppOptions = {}): Promise<INestApplicationContext> {
  const builder = Test.createTestingModule({
    imports: [
      JobTracingModule.forRoot(options.tracing),
      BullModule.forRoot({ connection: redisConnection() }),
      ...(options.imports ?? []),
    ],
    providers: options.providers ?? [],
  });
  if (options.logger) builder.setLogger(options.logger);
  return initOrClose(await builder.compile());
}

/** Initialises the app; one that fails to start is closed, so its queues' connections do not outlive the test. */
export async function initOrClose(app: INestApplicationContext): Promise<INestApplicationContext> {
  try {
    return await app.init();
  } catch (error) {
    await app.close();
    throw error;
  }
}
