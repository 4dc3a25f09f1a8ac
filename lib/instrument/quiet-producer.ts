import { type Context, context, createContextKey } from '@opentelemetry/api';
import * as bullmq from 'bullmq';
import { suppressedContext } from '../context/quiet-context.js';

/** Set by the producers of this library around an enqueue whose BullMQ commands stay untraced. */
const QUIET_ENQUEUE_KEY = createContextKey('nestjs-job-tracing quiet enqueue');
const PATCHED = Symbol.for('nestjs-job-tracing.quiet-producer-patched');

/**
 * The commands that store new jobs: their arguments hold the jobs' data, which a Redis
 * instrumentation copies into `db.query.text`. Suppressed where they leave BullMQ for Redis,
 * below BullMQ's own `trace(...)`, so bullmq-otel's producer spans are kept, and the trace
 * context it injects into the jobs comes from its recording span.
 */
const ENQUEUE_COMMANDS = ['addJob', 'addJobs', 'addFlow', 'addJobScheduler'] as const;

type Method = (...args: unknown[]) => unknown;

/**
 * The context an enqueue runs in: marked so that BullMQ's add, addBulk, flow and scheduler commands
 * inside run untraced, unless `traced`. The trace context stored on the jobs is injected from `ctx` itself.
 */
export function producerCommandContext(traced: boolean | undefined): (ctx: Context) => Context {
  if (traced) return openCommandContext;
  quietEnqueueCommands();
  return markQuiet;
}

function markQuiet(ctx: Context): Context {
  return ctx.setValue(QUIET_ENQUEUE_KEY, true);
}

function openCommandContext(ctx: Context): Context {
  return ctx;
}

/**
 * Extends the enqueue commands, once per process; only a marked enqueue is quieted. BullMQ 6 sends them
 * through its Redis backend, BullMQ 5 through its `Scripts` (a namespace import: neither name is in both).
 */
function quietEnqueueCommands(): void {
  const { RedisQueueBackend, Scripts } = bullmq as unknown as Record<string, { prototype: object } | undefined>;
  const prototype = (RedisQueueBackend ?? Scripts)?.prototype as (Record<string, Method | undefined> & { [PATCHED]?: true }) | undefined;
  if (!prototype || prototype[PATCHED]) return;
  for (const name of ENQUEUE_COMMANDS) {
    const original = prototype[name];
    if (typeof original !== 'function') continue; // absent from this BullMQ version
    prototype[name] = function quietEnqueue(this: unknown) {
      const active = context.active();
      return active.getValue(QUIET_ENQUEUE_KEY) === true
        ? context.with(suppressedContext(active), original, this, ...arguments)
        : original.apply(this, arguments as unknown as unknown[]);
    };
  }
  prototype[PATCHED] = true;
}
