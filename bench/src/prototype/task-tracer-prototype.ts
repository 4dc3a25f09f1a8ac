// Issue 9, phase 1: a scratch copy of lib/tracing/task-tracer.ts (as of this branch)
// with each proposed optimization behind a switch, so micro.ts can measure what
// each one buys before it is applied to the real file in phase 2. Delete this
// folder once phase 2 has applied them.
import { type Attributes, type Context, context, SpanKind, trace, type Tracer } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import type { MakeSpan, TaskHooks, TaskSpan, TracingContext } from 'nestjs-job-tracing';
import { LevelFilter, SpanLevel } from 'nestjs-job-tracing';
// Internal on purpose, as in micro.ts: the per-job layer itself.
import { readStoredContext, type StoredContextResult } from '../../../dist/context/stored-trace-context.js';
import { defaultTaskHooks } from '../../../dist/tracing/default-task-hooks.js';
import { recordFailure } from '../../../dist/tracing/record-failure.js';
import { type TaskScope, withTaskScope } from '../../../dist/tracing/task-scope.js';

export interface PrototypeSwitches {
  /** messaging.system, messaging.operation.type and messaging.destination.name built once per queue. */
  queueConstants?: boolean;
  /** One small object per job, with `read` as its only closure, instead of a closure-built reader. */
  storedContextObject?: boolean;
  /** Nothing but the strategy's span before the level check; the task scope's fields built on first read. */
  levelCheckFirst?: boolean;
  /** `task.start` and `task.done` only where the filter lets DEBUG through for the queue (tower-http's defaults). */
  eventsAtDebug?: boolean;
  /**
   * As eventsAtDebug, but decided inside the default hooks (built with the filter),
   * so task-tracer.ts calls every hook as today and knows nothing of the default's level.
   */
  eventsAtDebugInHooks?: boolean;
  /** Hooks called in a try/catch of their own, not through a closure per call. */
  noHookClosures?: boolean;
}

type Logger = { error(message: string): void; warn(message: string): void };

/** The job's stored context, read at most once: replaces the three closures of `storedContextOf`. */
class StoredContext {
  private result?: StoredContextResult;

  constructor(
    private readonly job: Job,
    private readonly logger: Logger,
  ) {}

  readonly read = (): TracingContext | undefined => {
    const stored = this.resolve();
    return 'context' in stored ? stored.context : undefined;
  };

  parentContextOf(tracingContext: TracingContext): Context {
    const stored = this.resolve();
    return 'context' in stored && stored.context === tracingContext
      ? stored.parent
      : trace.setSpanContext(context.active(), tracingContext.toSpanContext());
  }

  private resolve(): StoredContextResult {
    if (this.result) return this.result;
    this.result = readStoredContext(this.job);
    if ('problem' in this.result) {
      this.logger.warn(`Job ${this.job.id} of queue "${this.job.queueName}" runs under a new root trace: ${this.result.problem}`);
    }
    return this.result;
  }
}

/** A task scope whose fields are built only if someone (TaskLogger) reads them. */
class LazyTaskScope implements TaskScope {
  private built?: Attributes;

  constructor(
    readonly spanName: string,
    private readonly build: () => Attributes,
  ) {}

  get fields(): Attributes {
    return (this.built ??= this.build());
  }
}

// The library's defaults before they moved start and success to DEBUG: every event, no lines.
const quiet = { error() {}, warn() {}, log() {} };
const DEFAULT_TASK_HOOKS = defaultTaskHooks(quiet, LevelFilter.parse('trace'), { logAttempts: false });

/** tower-http's defaults: start and success at DEBUG, failure always. */
function debugLevelHooks(levelFilter: LevelFilter): Required<TaskHooks> {
  return {
    onStart: (job, span) => {
      if (levelFilter.enabled(SpanLevel.DEBUG, job.queueName)) span.addEvent('task.start');
    },
    onSuccess: (job, _result, latencyMs, span) => {
      if (levelFilter.enabled(SpanLevel.DEBUG, job.queueName)) span.addEvent('task.done', { latency_ms: latencyMs });
    },
    onFailure: DEFAULT_TASK_HOOKS.onFailure,
  };
}

export class TaskTracerPrototype {
  private readonly hooks: Required<TaskHooks>;
  private readonly queueAttributes = new Map<string, Attributes>();

  constructor(
    private readonly tracer: Tracer,
    private readonly levelFilter: LevelFilter,
    private readonly logger: Logger,
    private readonly switches: PrototypeSwitches,
    hooks: TaskHooks = {},
  ) {
    const defaults = switches.eventsAtDebugInHooks ? debugLevelHooks(levelFilter) : DEFAULT_TASK_HOOKS;
    this.hooks = { ...defaults, ...hooks };
  }

  async run<T>(makeSpan: MakeSpan, job: Job, activeContext: Context, handler: () => Promise<T>): Promise<T> {
    const { taskSpan, parent } = this.planSpan(makeSpan, job, activeContext);
    const queueName = job.queueName;
    const recorded = this.levelFilter.enabled(taskSpan.level, queueName);
    if (this.switches.levelCheckFirst && !recorded) {
      const scope = new LazyTaskScope(taskSpan.name, () => this.fieldsOf(job, taskSpan));
      return context.with(withTaskScope(parent, scope), handler);
    }
    const fields = this.fieldsOf(job, taskSpan);
    const scoped = withTaskScope(parent, { spanName: taskSpan.name, fields });
    if (!recorded) return context.with(scoped, handler);

    const span = this.tracer.startSpan(
      taskSpan.name,
      { kind: taskSpan.kind ?? SpanKind.CONSUMER, attributes: fields, links: taskSpan.links },
      parent,
    );
    const startedAt = performance.now();
    const events = !this.switches.eventsAtDebug || this.levelFilter.enabled(SpanLevel.DEBUG, queueName);
    if (events) {
      if (this.switches.noHookClosures) {
        try {
          this.hooks.onStart(job, span);
        } catch (error) {
          this.hookFailed('onStart', error);
        }
      } else this.callHookClosure('onStart', () => this.hooks.onStart(job, span));
    }
    try {
      const result = await context.with(trace.setSpan(scoped, span), handler);
      if (events) {
        if (this.switches.noHookClosures) {
          try {
            this.hooks.onSuccess(job, result, performance.now() - startedAt, span);
          } catch (error) {
            this.hookFailed('onSuccess', error);
          }
        } else {
          this.callHookClosure('onSuccess', () => this.hooks.onSuccess(job, result, performance.now() - startedAt, span));
        }
      }
      return result;
    } catch (error) {
      recordFailure(span, error);
      this.callHookClosure('onFailure', () => this.hooks.onFailure(job, error, performance.now() - startedAt, span));
      throw error;
    } finally {
      span.end();
    }
  }

  private fieldsOf(job: Job, taskSpan: TaskSpan): Attributes {
    if (!this.switches.queueConstants) {
      return {
        task_id: job.id,
        attempt: job.attemptsMade + 1,
        'messaging.system': 'bullmq',
        'messaging.operation.type': 'process',
        'messaging.destination.name': job.queueName,
        'messaging.message.id': job.id,
        ...taskSpan.fields,
      };
    }
    const fields: Attributes = { task_id: job.id, attempt: job.attemptsMade + 1 };
    const constants = this.constantsOf(job.queueName);
    for (const key in constants) fields[key] = constants[key];
    fields['messaging.message.id'] = job.id;
    if (taskSpan.fields) for (const key in taskSpan.fields) fields[key] = taskSpan.fields[key];
    return fields;
  }

  private constantsOf(queueName: string): Attributes {
    let constants = this.queueAttributes.get(queueName);
    if (!constants) {
      constants = {
        'messaging.system': 'bullmq',
        'messaging.operation.type': 'process',
        'messaging.destination.name': queueName,
      };
      this.queueAttributes.set(queueName, constants);
    }
    return constants;
  }

  private planSpan(makeSpan: MakeSpan, job: Job, activeContext: Context): { taskSpan: TaskSpan; parent: Context } {
    if (this.switches.storedContextObject) {
      const stored = new StoredContext(job, this.logger);
      const taskSpan = makeSpan.makeSpan(job, stored.read);
      return { taskSpan, parent: taskSpan.parent ? stored.parentContextOf(taskSpan.parent) : activeContext };
    }
    const stored = this.storedContextOf(job);
    const taskSpan = makeSpan.makeSpan(job, stored.read);
    return { taskSpan, parent: taskSpan.parent ? stored.parentContextOf(taskSpan.parent) : activeContext };
  }

  /** As in lib today. */
  private storedContextOf(job: Job) {
    let result: StoredContextResult | undefined;
    const resolve = () => {
      if (result) return result;
      result = readStoredContext(job);
      if ('problem' in result) this.logger.warn(`Job ${job.id} of queue "${job.queueName}" runs under a new root trace: ${result.problem}`);
      return result;
    };
    return {
      read: () => {
        const stored = resolve();
        return 'context' in stored ? stored.context : undefined;
      },
      parentContextOf: (tracingContext: TracingContext): Context => {
        const stored = resolve();
        return 'context' in stored && stored.context === tracingContext
          ? stored.parent
          : trace.setSpanContext(context.active(), tracingContext.toSpanContext());
      },
    };
  }

  private hookFailed(name: keyof TaskHooks, error: unknown): void {
    this.logger.error(`Task hook ${name} threw and was ignored: ${(error as Error)?.message ?? error}`);
  }

  private callHookClosure(name: keyof TaskHooks, hook: () => void): void {
    try {
      hook();
    } catch (error) {
      this.logger.error(`Task hook ${name} threw and was ignored: ${(error as Error)?.message ?? error}`);
    }
  }
}
