import { getQueueToken } from '@nestjs/bullmq';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryService, ModuleRef } from '@nestjs/core';
import { Queue } from 'bullmq';
import type { JobTracingModuleOptions } from '../interfaces/job-tracing-options.interface.js';
import { MODULE_OPTIONS_TOKEN } from '../job-tracing.module-definition.js';
import { observeQueueStates } from './queue-state-metrics.js';

/**
 * With the `queueMetrics` option, observes the application's queues once it has
 * started, so a MeterProvider registered before bootstrap is the one used.
 */
@Injectable()
export class QueueStateMetricsRegistrar implements OnApplicationBootstrap, OnModuleDestroy {
  private stopObserving?: () => void;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly discovery: DiscoveryService,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: JobTracingModuleOptions,
  ) {}

  onApplicationBootstrap(): void {
    const { metrics, queueMetrics } = this.options;
    if (metrics === false || !queueMetrics) return;
    const queues = queueMetrics === true ? this.registeredQueues() : queueMetrics.map((name) => this.queueNamed(name));
    this.stopObserving = observeQueueStates(queues);
  }

  onModuleDestroy(): void {
    this.stopObserving?.();
  }

  private registeredQueues(): Queue[] {
    const queues = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is Queue => instance instanceof Queue);
    return [...new Set(queues)];
  }

  private queueNamed(name: string): Queue {
    try {
      return this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
    } catch {
      throw new Error(`queueMetrics names the queue "${name}", which no BullModule.registerQueue registers`);
    }
  }
}
