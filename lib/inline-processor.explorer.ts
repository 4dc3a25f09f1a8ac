import { getQueueOptionsToken, type RegisterQueueOptions } from '@nestjs/bullmq';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { context } from '@opentelemetry/api';
import type { Job, Worker } from 'bullmq';
import { openContext } from './context/quiet-context.js';
import { addQuietWorkers, type QuietWorkers } from './instrument/quiet-worker.js';
import { tracedBullmqCommands } from './instrument/traced-bullmq-commands.js';
import { addWorkerProcessTracing, processorOf, type WorkerProcessTracing } from './instrument/worker-process-hook.js';
import type { JobTracingModuleOptions } from './interfaces/job-tracing-options.interface.js';
import type { MakeSpan } from './interfaces/make-span.interface.js';
import { MODULE_OPTIONS_TOKEN } from './job-tracing.module-definition.js';
import { DefaultTaskSpan } from './strategies/default-task-span.js';
import { TaskTracer } from './tracing/task-tracer.js';

/** `null`: not this application's inline processor, or opted out with `processors: { [queue]: false }`. */
type WorkerStrategy = MakeSpan | null;

/**
 * Traces the callbacks given to `BullModule.registerQueue({ processors: [...] })`,
 * which @nestjs/bullmq runs in Workers of their own, outside ProcessorDecoratorService.
 */
@Injectable()
export class InlineProcessorExplorer implements WorkerProcessTracing, QuietWorkers, OnModuleDestroy {
  private readonly strategyByWorker = new WeakMap<Worker, WorkerStrategy>();
  private readonly removeTracing: () => void;
  private readonly removeQuietWorkers?: () => void;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly taskTracer: TaskTracer,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: JobTracingModuleOptions,
  ) {
    this.removeTracing = addWorkerProcessTracing(this);
    if (!tracedBullmqCommands(options.traceBullmqCommands).worker) this.removeQuietWorkers = addQuietWorkers(this);
  }

  onModuleDestroy(): void {
    this.removeTracing();
    this.removeQuietWorkers?.();
  }

  /** The Workers of this application's traced inline processors. */
  quiets(worker: Worker): boolean {
    return this.cachedStrategyOf(worker) !== null;
  }

  process(worker: Worker, job: Job, token?: string, signal?: AbortSignal): Promise<unknown> | undefined {
    const strategy = this.cachedStrategyOf(worker);
    const processor = strategy && processorOf(worker);
    if (!strategy || !processor) return undefined;
    return this.taskTracer.run(strategy, job, openContext(context.active()), () => processor.call(worker, job, token, signal));
  }

  private cachedStrategyOf(worker: Worker): WorkerStrategy {
    let strategy = this.strategyByWorker.get(worker);
    if (strategy === undefined) {
      strategy = this.strategyOf(worker);
      this.strategyByWorker.set(worker, strategy);
    }
    return strategy;
  }

  // The queue's options are built before its workers (they are injected into the queue's factory),
  // so a worker whose processor is not among them is not one of this application's inline processors.
  private strategyOf(worker: Worker): WorkerStrategy {
    let queueOptions: RegisterQueueOptions | undefined;
    try {
      queueOptions = this.moduleRef.get<RegisterQueueOptions>(getQueueOptionsToken(worker.name), { strict: false });
    } catch {
      return null; // a Worker of a queue this application did not register
    }
    const processor = processorOf(worker);
    const inline = queueOptions?.processors?.some(
      (candidate) => candidate === processor || (typeof candidate === 'object' && 'callback' in candidate && candidate.callback === processor),
    );
    if (!inline) return null;
    const chosen = this.options.processors?.[worker.name];
    if (chosen === false) return null;
    return chosen ?? this.options.makeSpan ?? new DefaultTaskSpan();
  }
}
