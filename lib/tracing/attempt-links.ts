import { isSpanContextValid, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { runQuietly, runTraced } from '../context/quiet-context.js';
import { formatTraceFlags, parseTraceparent } from '../context/w3c-trace-context.js';
import { isJobMoved } from './job-moved.js';

/**
 * A failed attempt leaves one line in the job's own log (BullMQ's `<prefix>:<queue>:<id>:logs`
 * list, which Bull Board shows and BullMQ deletes with the job, in the job's hash slot):
 *
 *   [nestjs-job-tracing] attempt 1 failed; trace_id=… span_id=… trace_flags=01
 *
 * The next attempt reads it back with one LRANGE and links its span to that one.
 * A first attempt, and a job that succeeds on it, cost no Redis command.
 */
const MARKER = '[nestjs-job-tracing] attempt ';
const LINE = /^\[nestjs-job-tracing\] attempt ([1-9][0-9]{0,5}) failed; trace_id=(\S+) span_id=(\S+) trace_flags=(\S+)$/;
const MAX_LINE_LENGTH = 160;
/** The previous attempt's line is the newest of ours, unless a `failed` listener logged after it. */
const LINES_READ = 5;
/** A failure is never held up longer than this by its log line. */
const WRITE_TIMEOUT_MS = 2_000;


const PREVIOUS_ATTEMPT_LINK_ATTRIBUTE = 'messaging.bullmq.job.attempt';

/** Whether BullMQ may run this job again after `error`. */
export function mayRetry(job: Job, error: unknown): boolean {
  if (job.attemptsMade + 1 >= (Number(job.opts?.attempts) || 1)) return false;
  // UnrecoverableError skips the remaining attempts; BullMQ's moves are no failure at all.
  return (error as Error | undefined)?.name !== 'UnrecoverableError' && !isJobMoved(error);
}

/**
 * Appends the failed attempt's line; never throws and never waits long.
 * Its command is BullMQ's `addLog` script, holding no payload; untraced unless `traced`.
 */
export async function recordFailedAttempt(
  job: Job,
  span: Span,
  reportProblem: (problem: string) => void,
  traced = false,
): Promise<void> {
  const spanContext = span.spanContext();
  // No SDK (or OTEL_SDK_DISABLED): a span with zero ids has nothing to link to.
  if (!isSpanContextValid(spanContext)) return;
  const { traceId, spanId, traceFlags } = spanContext;
  const line = `${MARKER}${job.attemptsMade + 1} failed; trace_id=${traceId} span_id=${spanId} trace_flags=${formatTraceFlags(traceFlags)}`;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (traced ? runTraced : runQuietly)(job.log, job, line),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${WRITE_TIMEOUT_MS} ms`)), WRITE_TIMEOUT_MS);
        timer.unref?.();
      }),
    ]);
  } catch (error) {
    reportProblem(`the failed attempt could not be logged for it: ${(error as Error)?.message ?? error}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The link from attempt N >= 2 (`job.attemptsMade` >= 1) to attempt N-1's span, read from the job's log.
 * Undefined when there is none to read; a malformed line of ours is reported.
 */
export async function previousAttemptLink(
  job: Job,
  reportProblem: (problem: string) => void,
  traced = false,
): Promise<Link | undefined> {
  const previousAttempt = job.attemptsMade;
  let lines: unknown;
  try {
    const read = logReaderOf(job);
    if (!read) return undefined; // e.g. a sandboxed child given no Redis client
    lines = await (traced ? runTraced : runQuietly)(read, undefined, -LINES_READ, -1);
  } catch (error) {
    reportProblem(`its previous attempt's span could not be read: ${(error as Error)?.message ?? error}`);
    return undefined;
  }
  if (!Array.isArray(lines)) return undefined;
  for (const line of [...lines].reverse()) {
    if (typeof line !== 'string' || !line.startsWith(MARKER)) continue;
    const parsed = parseAttemptLine(line);
    if ('problem' in parsed) {
      reportProblem(parsed.problem);
      return undefined;
    }
    if (parsed.attempt !== previousAttempt) continue;
    return { context: parsed.spanContext, attributes: { [PREVIOUS_ATTEMPT_LINK_ATTRIBUTE]: parsed.attempt } };
  }
  return undefined;
}

/** Strict: a line of ours either is exactly what `recordFailedAttempt` writes, or is rejected. */
function parseAttemptLine(line: string): { attempt: number; spanContext: SpanContext } | { problem: string } {
  if (line.length > MAX_LINE_LENGTH) return { problem: `its log line is over ${MAX_LINE_LENGTH} characters` };
  const match = LINE.exec(line);
  if (!match) return { problem: 'its log line is not in the expected format' };
  const [, attempt, traceId, spanId, flags] = match;
  try {
    const parsed = parseTraceparent(`00-${traceId}-${spanId}-${flags}`);
    return {
      attempt: Number(attempt),
      spanContext: { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.traceFlags, isRemote: true },
    };
  } catch (error) {
    return { problem: `its log line holds an invalid span context (${(error as Error).message})` };
  }
}

type LogReader = (start: number, stop: number) => Promise<unknown>;

/** What reading a job's log needs of a Redis client: ioredis's `Redis` and `Cluster` fit. */
export interface RedisListClient {
  lrange(key: string, start: number, stop: number): Promise<unknown>;
}

/** Where a sandboxed child's wrapper puts the client it was given: BullMQ's job stand-in there has none. */
export const SANDBOX_LOG_CLIENT = Symbol('nestjs-job-tracing.sandbox-log-client');

type JobInside = Job & {
  [SANDBOX_LOG_CLIENT]?: RedisListClient;
  queue?: { backend?: { client?: unknown }; client?: unknown; toKey?(type: string): string };
  queueQualifiedName?: string;
  prefix?: string;
};

/**
 * One LRANGE on the job's log list, through the worker's own Redis client
 * (`backend.client` in BullMQ 6, `client` in 5), or in a sandboxed child the
 * client its wrapper was given. BullMQ's `getJobLogs` would add MULTI, LLEN and EXEC.
 */
function logReaderOf(job: Job): LogReader | undefined {
  const inside = job as JobInside;
  const sandboxClient = inside[SANDBOX_LOG_CLIENT];
  if (sandboxClient) {
    const queueKey = inside.queueQualifiedName ?? `${inside.prefix ?? 'bull'}:${job.queueName}`;
    return (start, stop) => sandboxClient.lrange(`${queueKey}:${job.id}:logs`, start, stop);
  }
  const queue = inside.queue;
  if (!queue || typeof queue.toKey !== 'function') return undefined;
  const clientPromise = (queue.backend?.client ?? queue.client) as Promise<RedisListClient> | undefined;
  if (!clientPromise) return undefined;
  const key = queue.toKey(`${job.id}:logs`);
  return async (start, stop) => {
    const client = await clientPromise;
    return typeof client?.lrange === 'function' ? client.lrange(key, start, stop) : undefined;
  };
}
