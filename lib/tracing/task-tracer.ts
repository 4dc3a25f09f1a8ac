import {
  type Attributes,
  type Context,
  type Span,
  SpanKind,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { isPropagationStyle, type PropagationDefaults, propagationDefaults, resolvePropagation } from '../context/propagation-style.js';
import type { TracingContext } from '../context/tracing-context.js';
import type { MakeSpan, TaskSpan } from '../interfaces/make-span.interface.js';
import type { TaskHooks } from '../interfaces/task-hooks.interface.js';
import { MESSAGING_SYSTEM } from '../job-tracing.constants.js';
import type { LevelFilter } from '../levels/level-filter.js';
import { isSpanLevel } from '../levels/span-level.js';
import type { JobMetrics } from '../metrics/job-metrics.js';
import { DefaultTaskSpan } from '../strategies/default-task-span.js';
import { escapeLogText, formatFieldValue, quoteLogValue, safeString } from '../logging/log-text.js';
import { IgnoredStoredContext } from '../logging/ignored-stored-context.js';
import { StoredContextProblems } from '../logging/stored-context-problems.js';
import { defaultTaskHooks, type DefaultTaskHooksOptions } from './default-task-hooks.js';
import { rememberAttemptContext, takeActiveEvent } from './attempt-context.js';
import { jobTiming } from './job-timing.js';
import { mayRetry, previousAttemptLink, recordFailedAttempt } from './attempt-links.js';
import { jobLifecycleAttributes } from './job-lifecycle-attributes.js';
import { jobMovedBy, recordJobMoved } from './job-moved.js';
import { JobStoredContext } from './job-stored-context.js';
import type { ExceptionEvents } from './exception-event.js';
import { recordFailure } from './record-failure.js';
import { serverAttributesOfJob } from './server-address.js';
import { schedulerIdOf, schedulerRunFields } from './scheduler-run.js';
import type { TaskTracerLogger } from './task-tracer-logger.js';
import { withinTask, withTaskScope } from './task-scope.js';

const FALLBACK_SPAN = new DefaultTaskSpan();

/** What a TaskTracer is built from: the module's options in Nest, the wrapper's in a sandboxed process. */
export interface TaskTracerSettings {
  tracer: Tracer;
  levelFilter: LevelFilter;
  logger: TaskTracerLogger;
  /** Each replaces its default. */
  hooks?: TaskHooks & DefaultTaskHooksOptions;
  propagation?: PropagationDefaults;
  /** Absent: no metrics. */
  metrics?: JobMetrics;
  /** In `child` mode, also link the task span to its creation context. Default: true. */
  creationLink?: boolean;
  /** Absent: no `messaging.process.exception` log records. */
  exceptionEvents?: ExceptionEvents;
  /** Trace the Redis commands that link a retry to the previous attempt. Default: false. */
  traceRetryLinkCommands?: boolean;
}

/**
 * Runs one attempt of a job inside its span: the strategy shapes the span,
 * the hooks observe it, and the handler's result or error passes through
 * unchanged. Nothing here throws into BullMQ but the handler's own error.
 * It imports nothing from Nest: sandboxed processors run it in a bare child process.
 */
export class TaskTracer {
  private readonly tracer: Tracer;
  private readonly levelFilter: LevelFilter;
  private readonly logger: TaskTracerLogger;
  private readonly hooks: Required<TaskHooks>;
  private readonly propagation: PropagationDefaults;
  private readonly jobMetrics?: JobMetrics;
  private readonly contextProblems: StoredContextProblems;
  private readonly creationLink: boolean;
  private readonly exceptionEvents?: ExceptionEvents;
  private readonly ignoredContext: IgnoredStoredContext;
  private readonly traceRetryLinkCommands: boolean;

  constructor(settings: TaskTracerSettings) {
    this.tracer = settings.tracer;
    this.levelFilter = settings.levelFilter;
    this.logger = settings.logger;
    const hooks = settings.hooks ?? {};
    this.hooks = { ...defaultTaskHooks(this.logger, this.levelFilter, hooks), ...definedHooks(hooks) };
    this.propagation = settings.propagation ?? propagationDefaults();
    this.jobMetrics = settings.metrics;
    this.contextProblems = new StoredContextProblems(this.logger);
    this.creationLink = settings.creationLink ?? true;
    this.exceptionEvents = settings.exceptionEvents;
    this.ignoredContext = new IgnoredStoredContext(this.logger);
    this.traceRetryLinkCommands = settings.traceRetryLinkCommands ?? false;
  }

  async run<T>(makeSpan: MakeSpan, job: Job, activeContext: Context, handler: () => Promise<T>): Promise<T> {
    // Taken before any await, so that the Worker does not emit it outside the span.
    const emitActive = takeActiveEvent(job);
    const { taskSpan, parent } = this.planSpan(makeSpan, job, activeContext);
    const fields: Attributes = {
      task_id: job.id,
      attempt: job.attemptsMade + 1,
      'messaging.system': MESSAGING_SYSTEM,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': job.queueName,
      'messaging.message.id': job.id,
      ...serverAttributesOfJob(job),
      ...schedulerRunFields(job),
      ...jobLifecycleAttributes(job),
      ...taskSpan.fields,
    };
    const scoped = withTaskScope(parent, { spanName: taskSpan.name, fields });
    if (!this.levelFilter.enabled(taskSpan.level, job.queueName)) {
      rememberAttemptContext(job, scoped);
      // Not recorded, but the upstream context still flows to work done inside, and metrics measure it all the same.
      const measured = this.jobMetrics ? this.jobMetrics.measured(job, handler) : handler;
      return withinTask(scoped, emitActive ? () => (emitActive(), measured()) : measured);
    }

    // A first attempt has no previous one: no await, no Redis command.
    const previousAttempt = job.attemptsMade > 0 ? await previousAttemptLink(job, this.retryLinkProblem(job), this.traceRetryLinkCommands) : undefined;
    const links = previousAttempt ? [...(Array.isArray(taskSpan.links) ? taskSpan.links : []), previousAttempt] : taskSpan.links;
    const span = this.tracer.startSpan(
      taskSpan.name,
      { kind: taskSpan.kind ?? SpanKind.CONSUMER, attributes: fields, links },
      parent,
    );
    const startedAt = performance.now();
    const inSpan = trace.setSpan(scoped, span);
    // For the `completed` or `failed` event BullMQ emits with this Job once the attempt settled.
    rememberAttemptContext(job, inSpan);
    let result: T;
    try {
      // onStart, the handler and onSuccess share one scope: entering it once per hook cost more than the hooks.
      result = await withinTask(inSpan, this.handleInScope<T>, undefined, job, span, startedAt, handler, emitActive);
    } catch (error) {
      const latencyMs = performance.now() - startedAt;
      this.jobMetrics?.recordFailedAttempt(job, latencyMs, error);
      const movedTo = jobMovedBy(error);
      if (movedTo) {
        recordJobMoved(span, job, movedTo);
      } else {
        recordFailure(span, error);
        this.exceptionEvents?.record(error, inSpan, fields);
        withinTask(inSpan, () => this.callHook('onFailure', job, error, latencyMs, span));
      }
      span.end();
      if (mayRetry(job, error)) await recordFailedAttempt(job, span, this.retryLinkProblem(job), this.traceRetryLinkCommands);
      throw error;
    }
    span.end();
    return result;
  }

  /** Runs inside the task's scope, so hooks see its span and what they log carries the task's fields; bound once. */
  private readonly handleInScope = async <T>(
    job: Job,
    span: Span,
    startedAt: number,
    handler: () => Promise<T>,
    emitActive: (() => void) | undefined,
  ): Promise<T> => {
    emitActive?.();
    this.callHook('onStart', job, span);
    const result = await handler();
    const latencyMs = performance.now() - startedAt;
    this.jobMetrics?.recordAttempt(job, latencyMs);
    this.callHook('onSuccess', job, result, latencyMs, span);
    return result;
  };

  /** The strategy's span and its parent; a strategy that throws or returns nonsense gets the default. */
  private planSpan(makeSpan: MakeSpan, job: Job, activeContext: Context): { taskSpan: TaskSpan; parent: Context } {
    const stored = new JobStoredContext(job, this.contextProblems);
    try {
      const taskSpan = makeSpan.makeSpan(job, () => stored.read());
      if (typeof taskSpan?.name !== 'string' || !isSpanLevel(taskSpan.level)) {
        throw new Error('it must return a name and a SpanLevel');
      }
      if (taskSpan.propagation !== undefined && !isPropagationStyle(taskSpan.propagation)) {
        throw new Error('its propagation must be child, link or none');
      }
      if (!taskSpan.parent) {
        if (!stored.wasRead()) this.ignoredContext.check(job, makeSpan);
        return { taskSpan, parent: activeContext };
      }
      return this.propagate(job, taskSpan, taskSpan.parent, stored, activeContext);
    } catch (error) {
      this.logger.error(
        `${makeSpan.constructor.name}.makeSpan failed for job ${formatFieldValue(String(job.id))} of queue ${quoteLogValue(job.queueName)}; ` +
          `using a default span instead: ${escapeLogText(safeString((error as Error)?.message ?? error))}`,
      );
      return { taskSpan: FALLBACK_SPAN.makeSpan(job), parent: activeContext };
    }
  }

  /** Continues `parent` as a child, or starts a new trace linked to it (`link`) or not (`none`). */
  private propagate(
    job: Job,
    taskSpan: TaskSpan,
    parent: TracingContext,
    stored: JobStoredContext,
    activeContext: Context,
  ): { taskSpan: TaskSpan; parent: Context } {
    const style = resolvePropagation(
      {
        jobStyle: stored.style(),
        strategyStyle: taskSpan.propagation,
        schedulerId: schedulerIdOf(job),
        delayMs: jobTiming(job).delayMs,
      },
      this.propagation,
    );
    if (style === 'child') return this.continueAsChild(taskSpan, stored.parentContextOf(parent), activeContext);
    const links = style === 'link' ? [...(taskSpan.links ?? []), { context: parent.toSpanContext() }] : taskSpan.links;
    return { taskSpan: { ...taskSpan, links }, parent: trace.deleteSpan(activeContext) };
  }

  /**
   * `child`, as the messaging conventions v1.44 put it: the task is a child of its
   * creation context and links to it too (unless `creationLink: false`), as OpenTelemetry
   * Java does. When processing runs inside another span still in progress (bullmq-otel's
   * `process` span), that ambient span is the parent and the creation context a link,
   * always. An ended span is no ambient one: it is a span that was active when the
   * Worker was built, which BullMQ's processing loop keeps (bullmq issue 4731).
   */
  private continueAsChild(taskSpan: TaskSpan, creation: Context, activeContext: Context): { taskSpan: TaskSpan; parent: Context } {
    const ambient = trace.getSpan(activeContext);
    const inAmbient = ambient !== undefined && ambient.isRecording();
    if (!inAmbient && !this.creationLink) return { taskSpan, parent: creation };
    const creationLink = { context: trace.getSpanContext(creation)! };
    const links = [...(taskSpan.links ?? []), creationLink];
    return { taskSpan: { ...taskSpan, links }, parent: inAmbient ? activeContext : creation };
  }

  private retryLinkProblem(job: Job): (problem: string) => void {
    return (problem) => this.contextProblems.reportRetryLink(job, problem);
  }

  // The caller runs it inside the task's scope.
  private callHook<K extends keyof TaskHooks>(name: K, ...args: Parameters<Required<TaskHooks>[K]>): void {
    try {
      Reflect.apply(this.hooks[name], this.hooks, args);
    } catch (error) {
      this.logger.error(`Task hook ${name} threw and was ignored: ${escapeLogText(safeString((error as Error)?.message ?? error))}`);
    }
  }
}

function definedHooks(hooks: TaskHooks): TaskHooks {
  return Object.fromEntries(Object.entries(hooks).filter(([, hook]) => typeof hook === 'function'));
}
