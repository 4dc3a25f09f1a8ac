import {
  type Attributes,
  type Context,
  context,
  SpanKind,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { readStoredContext } from '../context/stored-trace-context.js';
import type { TracingContext } from '../context/tracing-context.js';
import type { MakeSpan, TaskSpan } from '../interfaces/make-span.interface.js';
import type { TaskHooks } from '../interfaces/task-hooks.interface.js';
import type { LevelFilter } from '../levels/level-filter.js';
import { isSpanLevel } from '../levels/span-level.js';
import { DefaultTaskSpan } from '../strategies/default-task-span.js';
import { DEFAULT_TASK_HOOKS } from './default-task-hooks.js';
import { jobMovedBy, recordJobMoved } from './job-moved.js';
import { recordFailure } from './record-failure.js';
import type { TaskTracerLogger } from './task-tracer-logger.js';
import { withTaskScope } from './task-scope.js';

const FALLBACK_SPAN = new DefaultTaskSpan();

/**
 * Runs one attempt of a job inside its span: the strategy shapes the span,
 * the hooks observe it, and the handler's result or error passes through
 * unchanged. Nothing here throws into BullMQ but the handler's own error.
 * It imports nothing from Nest: sandboxed processors run it in a bare child process.
 */
export class TaskTracer {
  private readonly hooks: Required<TaskHooks>;

  constructor(
    private readonly tracer: Tracer,
    private readonly levelFilter: LevelFilter,
    private readonly logger: TaskTracerLogger,
    hooks: TaskHooks = {},
  ) {
    this.hooks = { ...DEFAULT_TASK_HOOKS, ...definedHooks(hooks) };
  }

  async run<T>(makeSpan: MakeSpan, job: Job, activeContext: Context, handler: () => Promise<T>): Promise<T> {
    const { taskSpan, parent } = this.planSpan(makeSpan, job, activeContext);
    const fields: Attributes = {
      task_id: job.id,
      attempt: job.attemptsMade + 1,
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': job.queueName,
      'messaging.message.id': job.id,
      ...taskSpan.fields,
    };
    const scoped = withTaskScope(parent, { spanName: taskSpan.name, fields });
    if (!this.levelFilter.enabled(taskSpan.level, job.queueName)) {
      // Not recorded, but the upstream context still flows to work done inside.
      return context.with(scoped, handler);
    }

    const span = this.tracer.startSpan(
      taskSpan.name,
      { kind: taskSpan.kind ?? SpanKind.CONSUMER, attributes: fields, links: taskSpan.links },
      parent,
    );
    const startedAt = performance.now();
    this.callHook('onStart', () => this.hooks.onStart(job, span));
    try {
      const result = await context.with(trace.setSpan(scoped, span), handler);
      this.callHook('onSuccess', () => this.hooks.onSuccess(job, result, performance.now() - startedAt, span));
      return result;
    } catch (error) {
      const movedTo = jobMovedBy(error);
      if (movedTo) {
        recordJobMoved(span, job, movedTo);
        throw error;
      }
      recordFailure(span, error);
      this.callHook('onFailure', () => this.hooks.onFailure(job, error, performance.now() - startedAt, span));
      throw error;
    } finally {
      span.end();
    }
  }

  /** The strategy's span and its parent; a strategy that throws or returns nonsense gets the default. */
  private planSpan(makeSpan: MakeSpan, job: Job, activeContext: Context): { taskSpan: TaskSpan; parent: Context } {
    const stored = this.storedContextOf(job);
    try {
      const taskSpan = makeSpan.makeSpan(job, stored.read);
      if (typeof taskSpan?.name !== 'string' || !isSpanLevel(taskSpan.level)) {
        throw new Error('it must return a name and a SpanLevel');
      }
      return { taskSpan, parent: taskSpan.parent ? stored.parentContextOf(taskSpan.parent) : activeContext };
    } catch (error) {
      this.logger.error(
        `${makeSpan.constructor.name}.makeSpan failed for job ${job.id} of queue "${job.queueName}"; ` +
          `using a default span instead: ${(error as Error)?.message ?? error}`,
      );
      return { taskSpan: FALLBACK_SPAN.makeSpan(job), parent: activeContext };
    }
  }

  /** Reads the job's stored context at most once, and warns at most once about it. */
  private storedContextOf(job: Job) {
    let result: ReturnType<typeof readStoredContext> | undefined;
    const resolve = () => {
      if (result) return result;
      result = readStoredContext(job);
      if ('problem' in result) {
        this.logger.warn(
          `Job ${job.id} of queue "${job.queueName}" runs under a new root trace: ${result.problem}`,
        );
      }
      return result;
    };
    return {
      read: () => {
        const stored = resolve();
        return 'context' in stored ? stored.context : undefined;
      },
      // The stored context keeps baggage a propagator extracted; another parent is taken as given.
      parentContextOf: (tracingContext: TracingContext): Context => {
        const stored = resolve();
        return 'context' in stored && stored.context === tracingContext
          ? stored.parent
          : trace.setSpanContext(context.active(), tracingContext.toSpanContext());
      },
    };
  }

  private callHook(name: keyof TaskHooks, hook: () => void): void {
    try {
      hook();
    } catch (error) {
      this.logger.error(`Task hook ${name} threw and was ignored: ${(error as Error)?.message ?? error}`);
    }
  }
}

function definedHooks(hooks: TaskHooks): TaskHooks {
  return Object.fromEntries(Object.entries(hooks).filter(([, hook]) => typeof hook === 'function'));
}
