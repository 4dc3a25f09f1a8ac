import type { Attributes } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { processGlobal } from '../process-global.js';

/** What a connection without a single host gives: one frozen object per process, as the others. */
const NO_SERVER: Attributes = processGlobal('no-server-attributes', () => Object.freeze({}));
/** ioredis's defaults, which BullMQ's connection options inherit. */
const DEFAULT_HOST = 'localhost';
const DEFAULT_PORT = 6379;

interface ConnectionOptions {
  host?: unknown;
  port?: unknown;
  path?: unknown;
  sentinels?: unknown;
}

const byHolder = new WeakMap<object, Attributes>();
/**
 * One frozen object per server, so that equal attributes are one object: metrics key their series
 * on it. Per process, so both builds of the package (ESM and CommonJS) share the objects.
 */
const byServer = processGlobal('server-attributes', () => new Map<string, Attributes>());

/**
 * `server.address` and `server.port` of a Queue, Worker or FlowProducer (read from its
 * `opts.connection`, once per object), for spans and metrics. Empty where no single
 * host is known: a Redis Cluster or a Sentinel set-up reaches several hosts, and which
 * one served a command is not known here; a job without its queue (a sandboxed child's stand-in).
 */
export function serverAttributesOf(holder: unknown): Attributes {
  if (typeof holder !== 'object' || holder === null) return NO_SERVER;
  let attributes = byHolder.get(holder);
  if (!attributes) {
    attributes = serverAttributes((holder as { opts?: { connection?: unknown } }).opts?.connection);
    byHolder.set(holder, attributes);
  }
  return attributes;
}

/** The server of the queue a Job belongs to (BullMQ keeps it on the Job, untyped); empty for a sandboxed child's stand-in. */
export function serverAttributesOfJob(job: Job): Attributes {
  return serverAttributesOf((job as unknown as { queue?: unknown }).queue);
}

/** From BullMQ's connection: ioredis options, or an ioredis `Redis` (its `options`) or `Cluster` instance. */
function serverAttributes(connection: unknown): Attributes {
  if (typeof connection !== 'object' || connection === null) return NO_SERVER;
  if ((connection as { isCluster?: unknown }).isCluster === true) return NO_SERVER;
  const instanceOptions = (connection as { options?: unknown }).options;
  const options = (typeof instanceOptions === 'object' && instanceOptions !== null ? instanceOptions : connection) as ConnectionOptions;
  if (Array.isArray(options.sentinels) && options.sentinels.length > 0) return NO_SERVER;
  if (typeof options.path === 'string' && options.path !== '') return interned(options.path, undefined);
  const host = typeof options.host === 'string' && options.host !== '' ? options.host : DEFAULT_HOST;
  const port = typeof options.port === 'number' ? options.port : Number(options.port ?? DEFAULT_PORT);
  return interned(host, Number.isInteger(port) && port > 0 ? port : undefined);
}

function interned(address: string, port: number | undefined): Attributes {
  const key = `${address}\u0000${port ?? ''}`;
  let attributes = byServer.get(key);
  if (!attributes) {
    attributes = Object.freeze({ 'server.address': address, ...(port !== undefined && { 'server.port': port }) });
    byServer.set(key, attributes);
  }
  return attributes;
}
