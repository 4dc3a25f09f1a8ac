import { getFlowProducerToken, getQueueToken } from '@nestjs/bullmq';
import { type DynamicModule, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { DiscoveryModule, ModuleRef } from '@nestjs/core';
import { trace } from '@opentelemetry/api';
import type { FlowProducer, Queue } from 'bullmq';
import { propagationDefaults } from './context/propagation-style.js';
import type { JobTracingFeatures, JobTracingModuleOptions } from './interfaces/job-tracing-options.interface.js';
import {
  DEFAULT_TRACER_NAME,
  FEATURE_REGISTRATION_CHECK,
  getTracedFlowProducerToken,
  getTracedQueueToken,
  LEVEL_FILTER_ENV,
  LIBRARY_LOG_CONTEXT,
} from './job-tracing.constants.js';
import { InlineProcessorExplorer } from './inline-processor.explorer.js';
import { tracedBullmqCommands } from './instrument/traced-bullmq-commands.js';
import { JobTracingExplorer } from './job-tracing.explorer.js';
import { JobTracingMetadataAccessor } from './job-tracing-metadata.accessor.js';
import {
  ASYNC_OPTIONS_TYPE,
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE,
} from './job-tracing.module-definition.js';
import { resolveLevelFilter } from './levels/resolve-level-filter.js';
import { JobMetrics } from './metrics/job-metrics.js';
import { QueueStateMetricsRegistrar } from './metrics/queue-state-metrics.registrar.js';
import { TracedFlowProducer } from './queue/traced-flow-producer.js';
import { TracedQueue, type TracedQueueOptions } from './queue/traced-queue.js';
import { checkFeatureRegistration, missingForRootError } from './registration/check-feature-registration.js';
import { DuplicateCopiesCheck } from './registration/duplicate-copies.js';
import { ExceptionEvents } from './tracing/exception-event.js';
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
    const requested: JobTracingFeatures =
      typeof features[0] === 'object' ? features[0] : { queues: features as string[] };
    const { queues: queueNames = [], flowProducers = [] } = requested;
    // Optional options, so that a missing forRoot gets an error that names it rather than a DI error.
    // The queue or flow producer is resolved on first use: its provider may be built after this one.
    const producerProvider = (token: string, create: (moduleRef: ModuleRef, options: TracedQueueOptions) => object) => ({
      provide: token,
      inject: [ModuleRef, { token: MODULE_OPTIONS_TOKEN, optional: true }],
      useFactory: (moduleRef: ModuleRef, options: JobTracingModuleOptions | undefined) => {
        if (!options) throw missingForRootError(requested);
        return create(moduleRef, producerOptions(options));
      },
    });
    const queueProviders = queueNames.map((name) =>
      producerProvider(getTracedQueueToken(name), (moduleRef, options) =>
        new TracedQueue(() => moduleRef.get<Queue>(getQueueToken(name), { strict: false }), options),
      ),
    );
    const flowProducerProviders = flowProducers.map((name) =>
      producerProvider(getTracedFlowProducerToken(name), (moduleRef, options) =>
        new TracedFlowProducer(() => moduleRef.get<FlowProducer>(getFlowProducerToken(name), { strict: false }), options),
      ),
    );
    const providers = [...queueProviders, ...flowProducerProviders];
    const registrationCheck = {
      provide: FEATURE_REGISTRATION_CHECK,
      inject: [ModuleRef],
      // onModuleInit runs once every module's providers exist, whatever the import order.
      useFactory: (moduleRef: ModuleRef): OnModuleInit => ({
        onModuleInit: () => checkFeatureRegistration(moduleRef, requested),
      }),
    };
    return {
      module: JobTracingModule,
      providers: [...providers, registrationCheck],
      exports: providers.map(({ provide }) => provide),
    };
  }
}

function producerOptions(options: JobTracingModuleOptions): TracedQueueOptions {
  return {
    tracerName: options.tracerName,
    producerSpan: options.producerSpan,
    metrics: options.metrics,
    createSpans: options.createSpans,
    traceBullmqCommands: tracedBullmqCommands(options.traceBullmqCommands).producer,
  };
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
      QueueStateMetricsRegistrar,
      DuplicateCopiesCheck,
      {
        provide: TaskTracer,
        inject: [MODULE_OPTIONS_TOKEN],
        useFactory: (options: JobTracingModuleOptions) => {
          const logger = new Logger(LIBRARY_LOG_CONTEXT);
          const levelFilter = resolveLevelFilter(
            options.level,
            { name: LEVEL_FILTER_ENV, value: process.env[LEVEL_FILTER_ENV] },
            logger,
          );
          return new TaskTracer({
            tracer: trace.getTracer(options.tracerName ?? DEFAULT_TRACER_NAME),
            levelFilter,
            logger,
            hooks: {
              onStart: options.onStart,
              onSuccess: options.onSuccess,
              onFailure: options.onFailure,
              logAttempts: options.logAttempts,
            },
            propagation: propagationDefaults(options.longDelayMs),
            metrics: options.metrics === false ? undefined : new JobMetrics({ jobName: options.metricsJobName }),
            creationLink: options.creationLink,
            exceptionEvents: options.exceptionEvents ? new ExceptionEvents(options.tracerName) : undefined,
            traceRetryLinkCommands: tracedBullmqCommands(options.traceBullmqCommands).retryLinks,
          });
        },
      },
    ],
    exports: [...(root.exports ?? []), MODULE_OPTIONS_TOKEN],
  };
}
