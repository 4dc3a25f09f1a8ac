import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { redisConnection } from './queues.js';

const FIXTURES = new URL('../fixtures/auto-instrumentations/', import.meta.url);
const PRELOAD = fileURLToPath(new URL('tracing.mjs', FIXTURES));

export interface ExportedSpan {
  name: string;
  kind: number;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes?: Record<string, unknown> }>;
  links: Array<{ spanId: string; attributes?: Record<string, unknown> }>;
  status: { code: number; message?: string };
}

export interface ObservedEvent {
  source: 'OnWorkerEvent' | 'worker.on';
  event: 'completed' | 'failed';
  jobId: string;
  activeSpanId?: string;
  fields: Record<string, unknown>;
  handlerSpan: { traceId: string; spanId: string };
}

export interface WorkerOutput {
  pid: number;
  spans: ExportedSpan[];
  events: ObservedEvent[];
  logLines: string[];
}

export interface Scenario {
  requireParentSpan: boolean;
  bullmqOtel: boolean;
  traceBullmqCommands: boolean;
  jobs: number;
  marker: string;
  queueName: string;
}

export interface ScenarioOutput {
  producerPid: number;
  producerSpans: ExportedSpan[];
  workers: WorkerOutput[];
}

/** Each process runs as users run theirs: `node --import <sdk with instrumentation-ioredis> app.mjs`. */
function nodeWithPreload(script: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', PRELOAD, fileURLToPath(new URL(script, FIXTURES))], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): { lines: string[]; stderr: string[]; exited: Promise<number | null> } {
  const lines: string[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    if (buffered) lines.push(buffered);
    resolve(code);
  }));
  return { lines, stderr, exited };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Two worker processes and a producer process on one queue; returns every span each exported. */
export async function runScenario(scenario: Scenario): Promise<ScenarioOutput> {
  const env = {
    REDIS_URL: process.env.REDIS_URL!,
    QUEUE_NAME: scenario.queueName,
    REQUIRE_PARENT_SPAN: String(scenario.requireParentSpan),
    BULLMQ_OTEL: scenario.bullmqOtel ? '1' : '0',
    TRACE_BULLMQ_COMMANDS: String(scenario.traceBullmqCommands),
    JOBS: String(scenario.jobs),
    MARKER: scenario.marker,
  };
  const workers = [nodeWithPreload('worker.mjs', env), nodeWithPreload('worker.mjs', env)].map((child) => ({ child, ...collect(child) }));
  const queue = new Queue(scenario.queueName, { connection: redisConnection() });
  try {
    for (const worker of workers) await until(() => worker.lines.includes('ready') || worker.child.exitCode !== null, 'a worker to start');
    for (const worker of workers) if (worker.child.exitCode !== null) throw new Error(`worker failed: ${worker.stderr.join('')}`);

    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', PRELOAD, fileURLToPath(new URL('producer.mjs', FIXTURES))],
      { env: { ...process.env, NODE_OPTIONS: '', ...env }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const producer = JSON.parse(stdout) as { pid: number; spans: ExportedSpan[] };
    await until(async () => (await queue.getCompletedCount()) === scenario.jobs, 'every job to complete');

    const outputs: WorkerOutput[] = [];
    for (const worker of workers) {
      process.kill(worker.child.pid!, 'SIGTERM');
      const code = await worker.exited;
      const report = [...worker.lines].reverse().find((line) => line.startsWith('{"pid"'));
      if (code !== 0 || !report) throw new Error(`worker exited ${code}: ${worker.stderr.join('')}`);
      outputs.push(JSON.parse(report) as WorkerOutput);
    }
    return { producerPid: producer.pid, producerSpans: producer.spans, workers: outputs };
  } finally {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

const IOREDIS_SCOPE = '@opentelemetry/instrumentation-ioredis';
/** Commands a client sends when it connects, and when it closes: counted apart from the per-job ones. */
const CONNECTION_COMMANDS = new Set(['connect', 'info', 'client', 'quit', 'ping', 'select']);
/** A Queue writes its meta hash (BullMQ's version) once, when it is built. */
const isQueueStartUp = (span: ExportedSpan) => span.name === 'hset' && JSON.stringify(span.attributes).includes(':meta');

export interface RedisSpanFigures {
  /** The processors' own GETs. */
  userGets: ExportedSpan[];
  /** BullMQ's and this library's commands, connection set-up and close excluded. */
  internal: ExportedSpan[];
  connection: ExportedSpan[];
}

export function redisSpanFigures(spans: ExportedSpan[]): RedisSpanFigures {
  const redis = spans.filter((span) => span.scope === IOREDIS_SCOPE);
  const isUserGet = (span: ExportedSpan) => span.name === 'get' && JSON.stringify(span.attributes).includes('user-key:');
  return {
    userGets: redis.filter(isUserGet),
    connection: redis.filter((span) => CONNECTION_COMMANDS.has(span.name) || isQueueStartUp(span)),
    internal: redis.filter((span) => !isUserGet(span) && !CONNECTION_COMMANDS.has(span.name) && !isQueueStartUp(span)),
  };
}
