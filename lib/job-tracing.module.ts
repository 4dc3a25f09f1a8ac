import { getQueueToken } from '@nestjs/bullmq';
import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { DiscoveryModule, ModuleRef } from '@nestjs/core';
import { trace } from '@opentelemetry/api';
import type { Queue } from 'bullmq';
import type { JobTracingModuleOptions } from './interfaces/job-tracing-options.interface.js';
import { DEFAULT_TRACER_NAME, getTracedQueueToken, LEVEL_FILTER_ENV } from './job-tracing.constants.js';
import { InlineProcessorExplorer } from './inline-processor.explorer.js';
import { JobTracingExplorer } from './job-tracing.explorer.js';
import { JobTracingMetadataAccessor } from './job-tracing-metadata.accessor.js';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
} from './job-tracing.module-definition.js';
import { LevelFilter } from './levels/level-filter.js';
import { TracedQueue } from './queue/traced-queue.js';
import { TaskTracer } from './tracing/task-tracer.js';

/**
 * Import once, anywhere: every @Processor of the application gets one span
 * per attempt of each job.
 */
@Module({})
export class JobTracingModule extends ConfigurableModuleClass {
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return withTracingProviders(super.forRoot(options));
  }

  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withTracingProviders(super.forRootAsync(options));
  }

  /**
   * Provides a `TracedQueue` for each named queue, for `@InjectTracedQueue(name)`.
   * The queues themselves come from `BullModule.registerQueue`, anywhere in the app.
   */
  static forFeature(...queueNames: string[]): DynamicModule {
    const providers = queueNames.map((queueName) => ({
      provide: getTracedQueueToken(queueName),
      inject: [ModuleRef, MODULE_OPTIONS_TOKEN],
      // Resolved on first use: the queue's provider may be built after this one.
      useFactory: (moduleRef: ModuleRef, options: JobTracingModuleOptions) =>
        new TracedQueue(() => moduleRef.get<Queue>(getQueueToken(queueName), { strict: false }), {
          tracerName: options.tracerName,
          producerSpan: options.producerSpan,
        }),
    }));
    return { module: JobTracingModule, providers, exports: providers.map(({ provide }) => provide) };
  }
}

// Only the root module carries these, so forFeature adds no second explorer.
function withTracingProviders(root: DynamicModule): DynamicModule {
  return {
    ...root,
    imports: [...(root.imports ?? []), DiscoveryModule],
    providers: [
      ...(root.providers ?? []),
      JobTracingExplorer,
      InlineProcessorExplorer,
      JobTracingMetadataAccessor,
      {
        provide: TaskTracer,
        inject: [MODULE_OPTIONS_TOKEN],
        useFactory: (options: JobTracingModuleOptions) =>
          new TaskTracer(
            trace.getTracer(options.tracerName ?? DEFAULT_TRACER_NAME),
            LevelFilter.parse(process.env[LEVEL_FILTER_ENV] || options.level || 'info'),
            new Logger('JobTracing'),
            { onStart: options.onStart, onSuccess: options.onSuccess, onFailure: options.onFailure },
          ),
      },
    ],
    exports: [...(root.exports ?? []), MODULE_OPTIONS_TOKEN],
  };
}
