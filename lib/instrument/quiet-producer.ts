import type { Context } from '@opentelemetry/api';
import { quietContext } from '../context/quiet-context.js';

/**
 * The context BullMQ's add, addBulk, flow and scheduler scripts run in: quiet unless `traced`.
 * Their arguments hold the jobs' data, which a Redis instrumentation would copy into `db.query.text`.
 * The trace context stored on the jobs is still injected from the open context given to the enqueue.
 */
export function producerCommandContext(traced: boolean | undefined): (ctx: Context) => Context {
  return traced ? openCommandContext : quietContext;
}

function openCommandContext(ctx: Context): Context {
  return ctx;
}
