import { ProcessorDecoratorService, WorkerHost } from '@nestjs/bullmq';
import { Inject, Injectable, type OnModuleDestroy, type Type } from '@nestjs/common';
import { DiscoveryService, ModuleRef } from '@nestjs/core';
import { context, trace } from '@opentelemetry/api';
import type { Job, Processor, Worker } from 'bullmq';
import { openContext } from './context/quiet-context.js';
import { addProcessorDecoration, type ProcessorDecoration } from './instrument/processor-decoration.js';
import { addQuietWorkers } from './instrument/quiet-worker.js';
import { processorOf } from './instrument/worker-process-hook.js';
import { tracedBullmqCommands } from './instrument/traced-bullmq-commands.js';
import type { TracedWorkers } from './instrument/traced-workers.js';
import { runWorkerEventsInAttemptContext } from './instrument/worker-events.js';
import type { JobTracingModuleOptions } from './interfaces/job-tracing-options.interface.js';
import type { MakeSpan } from './interfaces/make-span.interface.js';
import { JobTracingMetadataAccessor } from './job-tracing-metadata.accessor.js';
import { MODULE_OPTIONS_TOKEN } from './job-tracing.module-definition.js';
import { workerOf } from './registration/worker-of.js';
import { DefaultTaskSpan } from './strategies/default-task-span.js';
import { TaskTracer } from './tracing/task-tracer.js';

/** `null`: the processor opted out with @SkipTaskTracing. */
type ProcessorStrategy = MakeSpan | null;

/**
 * Wraps every processor that @nestjs/bullmq registers, and finds for each job
 * the strategy its processor class asked for.
 */
@Injectable()
export class JobTracingExplorer implements ProcessorDecoration, TracedWorkers, OnModuleDestroy {
  private readonly defaultMakeSpan: MakeSpan;
  private readonly removeDecoration: () => void;
  private readonly removeQuietWorkers?: () => void;
  private readonly removeWorkerEvents: () => void;
  private readonly strategyByWorker = new WeakMap<object, ProcessorStrategy>();
  private strategyByQueue?: Map<string, ProcessorStrategy>;
  private decoratorService?: ProcessorDecoratorService;
  private readonly decorated = new WeakSet<Processor>();

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly discovery: DiscoveryService,
    private readonly metadataAccessor: JobTracingMetadataAccessor,
    private readonly taskTracer: TaskTracer,
    @Inject(MODULE_OPTIONS_TOKEN) options: JobTracingModuleOptions,
  ) {
    this.defaultMakeSpan = options.makeSpan ?? new DefaultTaskSpan();
    // Constructors run before any onModuleInit, so this is in place before BullModule creates workers.
    this.removeDecoration = addProcessorDecoration(this);
    if (!tracedBullmqCommands(options.traceBullmqCommands).worker) this.removeQuietWorkers = addQuietWorkers(this);
    this.removeWorkerEvents = runWorkerEventsInAttemptContext(this);
  }

  onModuleDestroy(): void {
    this.removeDecoration();
    this.removeQuietWorkers?.();
    this.removeWorkerEvents();
  }

  /** The Workers of this application's traced @Processor classes; not those of @SkipTaskTracing ones. */
  traces(worker: Worker): boolean {
    const host = this.processorHosts().find((candidate) => workerOf(candidate) === worker);
    if (host) return this.strategyOf(host.constructor as Type) !== null;
    // BullMQ 5 asks from the Worker's constructor, before @nestjs/bullmq links it to its class.
    const processor = processorOf(worker);
    return processor !== undefined && this.decorated.has(processor);
  }

  owns(service: ProcessorDecoratorService): boolean {
    try {
      this.decoratorService ??= this.moduleRef.get(ProcessorDecoratorService, { strict: false });
    } catch {
      return false; // this application has no BullModule; another one in the process does
    }
    return this.decoratorService === service;
  }

  decorate(processor: Processor): Processor {
    // A span active while the Worker is built leaks into its processing loop (bullmq issue 4731).
    const spanAtConstruction = trace.getSpan(context.active());
    const explorer = this;
    // `worker` is the Worker: bullmq calls the processor as `worker.processFn(...)`.
    // Request-scoped processors are decorated per job and called without a Worker.
    const traced: TracedCall = function (worker, job, token, signal) {
      const makeSpan = explorer.strategyFor(worker, job.queueName);
      // Inside a Worker this library keeps quiet, the handler gets the context from before the suppression.
      const active = context.active();
      let activeContext = openContext(active);
      if (!makeSpan) return activeContext === active ? processor(job, token, signal) : context.with(activeContext, processor, undefined, job, token!, signal);
      if (worker && spanAtConstruction && trace.getSpan(activeContext) === spanAtConstruction) {
        activeContext = trace.deleteSpan(activeContext);
      }
      return explorer.taskTracer.run(makeSpan, job, activeContext, () => processor(job, token, signal));
    };
    const decorated = withArityOf(processor, traced);
    this.decorated.add(decorated);
    return decorated;
  }

  private strategyFor(worker: object | undefined, queueName: string): ProcessorStrategy {
    if (worker) {
      let strategy = this.strategyByWorker.get(worker);
      if (strategy === undefined) {
        const host = this.processorHosts().find((candidate) => workerOf(candidate) === worker);
        strategy = host ? this.strategyOf(host.constructor as Type) : this.strategyForQueue(queueName);
        this.strategyByWorker.set(worker, strategy);
      }
      return strategy;
    }
    return this.strategyForQueue(queueName);
  }

  // With several processor classes on one queue, the first one registered decides.
  private strategyForQueue(queueName: string): ProcessorStrategy {
    if (!this.strategyByQueue?.has(queueName)) {
      // Workers registered later (manualRegistration) are picked up on their first job.
      this.strategyByQueue = new Map();
      for (const host of this.processorHosts()) {
        const name = workerOf(host)?.name;
        if (name !== undefined && !this.strategyByQueue.has(name)) {
          this.strategyByQueue.set(name, this.strategyOf(host.constructor as Type));
        }
      }
    }
    return this.strategyByQueue.get(queueName) ?? this.defaultMakeSpan;
  }

  private strategyOf(processorClass: Type): ProcessorStrategy {
    const metadata = this.metadataAccessor.getTaskTracing(processorClass);
    if (!metadata) return this.defaultMakeSpan;
    return metadata.traced ? (metadata.makeSpan ?? this.defaultMakeSpan) : null;
  }

  private processorHosts(): WorkerHost[] {
    return this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost);
  }
}

type TracedCall = (worker: object | undefined, job: Job, token?: string, signal?: AbortSignal) => ReturnType<Processor>;

/**
 * BullMQ creates an AbortSignal only for processors that declare a third
 * parameter, so the wrapper declares as many as the processor. A wrapper per
 * arity, not defineProperty('length'), which cost most of a request-scoped
 * processor's decoration per job.
 */
function withArityOf(processor: Processor, traced: TracedCall): Processor {
  switch (processor.length) {
    case 0:
      return function (this: object | undefined) {
        return traced(this, arguments[0] as Job, arguments[1] as string | undefined, arguments[2] as AbortSignal | undefined);
      };
    case 1:
      return function (this: object | undefined, job: Job) {
        return traced(this, job, arguments[1] as string | undefined, arguments[2] as AbortSignal | undefined);
      };
    case 2:
      return function (this: object | undefined, job: Job, token?: string) {
        return traced(this, job, token, arguments[2] as AbortSignal | undefined);
      };
    default:
      return function (this: object | undefined, job: Job, token?: string, signal?: AbortSignal) {
        return traced(this, job, token, signal);
      };
  }
}
