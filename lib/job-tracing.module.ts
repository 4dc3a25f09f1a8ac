import { getFlowProducerToken, getQueueToken } from '@nestjs/bullmq';
import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { DiscoveryModule, ModuleRef } from '@nestjs/core';
import { trace } from '@opentelemetry/api';
import type { FlowProducer, Queue } from 'bullmq';
import { propagationDefaults } from './context/propagation-style.js';
import type { JobTracingFeatures, JobTracingModuleOptions } from './interfaces/job-tracing-options.interface.js';
import {
  DEFAULT_TRACER_NAME,
  getTracedFlowProducerToken,
  getTracedQueueToken,
  LEVEL_FILTER_ENV,
} from './job-tracing.constants.js';
import { JobTracingExplorer } from './job-tracing.explorer.js';
import { JobTracingMetadataAccessor } from './job-tracing-metadata.accessor.js';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
} from './job-tracing.module-definition.js';
import { LevelFilter } from './levels/level-filter.js';
import { JobMetrics } from './metrics/job-metrics.js';
import { QueueStateMetricsRegistrar } from './metrics/queue-state-metrics.registrar.js';
import { TracedFlowProducer } from './queue/traced-flow-producer.js';
import { TracedQueue, type TracedQueueOptions } from './queue/traced-queue.js';
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
   * Provides a `TracedQueue` for each named queue, for `@InjectTracedQueue(name)`,
   * and with `{ flowProducers }` a `TracedFlowProducer` for `@InjectTracedFlowProducer(name)`.
   * The queues and flow producers themselves come from `BullModule`, anywhere in the app.
   */
  static forFeature(...features: string[] | [JobTracingFeatures]): DynamicModule {
    const { queues: queueNames = [], flowProducers = [] } =
      typeof features[0] === 'object' ? features[0] : { queues: features as string[] };
    const flowProducerProviders = flowProducers.map((name) => ({
      provide: getTracedFlowProducerToken(name),
      inject: [ModuleRef, MODULE_OPTIONS_TOKEN],
      useFactory: (moduleRef: ModuleRef, options: JobTracingModuleOptions) =>
        new TracedFlowProducer(
          () => moduleRef.get<FlowProducer>(getFlowProducerToken(name), { strict: false }),
          producerOptions(options),
        ),
    }));
    const queueProviders = queueNames.map((queueName) => ({
      provide: getTracedQueueToken(queueName),
      inject: [ModuleRef, MODULE_OPTIONS_TOKEN],
      // Resolved on first use: the queue's provider may be built after this one.
      useFactory: (moduleRef: ModuleRef, options: JobTracingModuleOptions) =>
        new TracedQueue(
          () => moduleRef.get<Queue>(getQueueToken(queueName), { strict: false }),
          producerOptions(options),
        ),
    }));
    const providers = [...queueProviders, ...flowProducerProviders];
    return { module: JobTracingModule, providers, exports: providers.map(({ provide }) => provide) };
  }
}

function producerOptions(options: JobTracingModuleOptions): TracedQueueOptions {
  return { tracerName: options.tracerName, producerSpan: options.producerSpan, metrics: options.metrics };
}

// Only the root module carries these, so forFeature adds no second explorer.
function withTracingProviders(root: DynamicModule): DynamicModule {
  return {
    ...root,
    imports: [...(root.imports ?? []), DiscoveryModule],
    providers: [
      ...(root.providers ?? []),
      JobTracingExplorer,
      JobTracingMetadataAccessor,
      QueueStateMetricsRegistrar,
      {
        provide: TaskTracer,
        inject: [MODULE_OPTIONS_TOKEN],
        useFactory: (options: JobTracingModuleOptions) =>
          new TaskTracer({
            tracer: trace.getTracer(options.tracerName ?? DEFAULT_TRACER_NAME),
            levelFilter: LevelFilter.parse(process.env[LEVEL_FILTER_ENV] || options.level || 'info'),
            logger: new Logger('JobTracing'),
            hooks: { onStart: options.onStart, onSuccess: options.onSuccess, onFailure: options.onFailure },
            propagation: propagationDefaults(options.longDelayMs),
            metrics: options.metrics === false ? undefined : new JobMetrics({ jobName: options.metricsJobName }),
          }),
      },
    ],
    exports: [...(root.exports ?? []), MODULE_OPTIONS_TOKEN],
  };
}
