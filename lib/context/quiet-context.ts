import { type Context, context, createContextKey } from '@opentelemetry/api';

/**
 * The key OpenTelemetry's SDK reads to record nothing (`suppressTracing` of @opentelemetry/core).
 * `createContextKey` makes it `Symbol.for(...)`, so the same key without depending on core.
 */
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
/** Set only where this library suppressed: holds the context it suppressed, to give back to user code. */
const QUIETED_FROM_KEY = createContextKey('nestjs-job-tracing quieted from');

// BullMQ's loops run in one context for a worker's life: its quiet twin is built once, not per command.
let lastOpen: Context | undefined;
let lastQuiet: Context | undefined;

/** `ctx` with tracing suppressed, for BullMQ's own Redis commands; an application's own suppression is kept as it is. */
export function quietContext(ctx: Context): Context {
  if (ctx === lastOpen) return lastQuiet!;
  if (ctx.getValue(SUPPRESS_TRACING_KEY) === true) return ctx;
  const quiet = ctx.setValue(SUPPRESS_TRACING_KEY, true).setValue(QUIETED_FROM_KEY, ctx);
  lastOpen = ctx;
  lastQuiet = quiet;
  return quiet;
}

/** The context this library's suppression replaced, or undefined when `ctx` is not quieted by it. */
export function contextBeforeQuiet(ctx: Context): Context | undefined {
  return ctx.getValue(QUIETED_FROM_KEY) as Context | undefined;
}

/** `ctx` without this library's suppression, for user code: an application's own is kept. */
export function openContext(ctx: Context): Context {
  return (ctx.getValue(QUIETED_FROM_KEY) as Context | undefined) ?? ctx;
}

/** Calls `fn` with tracing suppressed: what it sends to Redis makes no span. */
export function runQuietly<A extends unknown[], R>(fn: (...args: A) => R, thisArg: unknown, ...args: A): R {
  return context.with(quietContext(context.active()), fn, thisArg, ...args);
}

/** Calls `fn` traced, even inside a Worker this library keeps quiet: for the commands a user asked to trace. */
export function runTraced<A extends unknown[], R>(fn: (...args: A) => R, thisArg: unknown, ...args: A): R {
  return context.with(openContext(context.active()), fn, thisArg, ...args);
}
