// `npm run sample`: starts the sample app as its own process, sends it a few
// requests, collects the traces it exports over OTLP/HTTP, and prints them.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { deleteKeys } from './delete-keys.js';
import { FLAKY_DOMAIN } from './email/email.constants.js';
import { formatSummary, scrapeMetrics, summarizeQueues } from './metrics-summary.js';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { freePort, type RedisHandle, resolveRedis } from './redis.js';
import { formatTraceTree } from './trace-tree.js';

const RECIPIENTS = ['ada@example.com', `grace@${FLAKY_DOMAIN}`];
const TIMEOUT_MS = 30_000;
const RECEIPT_STORED = 'ReceiptProcessor: Receipt stored';
const ORDER_SHIPPED = 'OrderProcessor: Order shipped';
const DIGEST_SENT = 'DigestProcessor: Digest sent';
const DIGEST_RUNS = 2;

export interface SampleRun {
  spans: ReceivedSpan[];
  logLines: string[];
  /** What the app's Prometheus endpoint served once the jobs had finished. */
  metrics: string;
}

export interface SampleOptions {
  redisUrl: string;
  receiver: OtlpReceiver;
  otlpEndpoint: string;
  /** The compiled sample (dist-sample/). */
  appDir: URL;
  /** Runs once the jobs have finished, before the app stops: more load, a scraper, queries. */
  whileRunning?: (app: RunningSample) => Promise<void>;
}

/** The running sample app, as `whileRunning` sees it. */
export interface RunningSample {
  metricsPort: number;
  /** POSTs JSON to the app, e.g. `/emails` or `/orders`. */
  post(path: string, body: object): Promise<void>;
}

/** Runs the sample app as its own process and posts the emails; resolves once the app has finished their jobs and exported their spans. */
export async function runSample({ redisUrl, receiver, otlpEndpoint, appDir, whileRunning }: SampleOptions): Promise<SampleRun> {
  const port = await freePort();
  const metricsPort = await freePort();
  // A fresh namespace: no jobs left from earlier runs; the test suite's run id, when set, lets it check for leftovers.
  const queuePrefix = ['sample', process.env.JOB_TRACING_TEST_RUN, randomUUID().slice(0, 8)].filter(Boolean).join('-');
  const app = spawn(
    process.execPath,
    ['--import', fileURLToPath(new URL('tracing.js', appDir)), fileURLToPath(new URL('main.js', appDir))],
    {
      env: {
        ...process.env,
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: queuePrefix,
        DIGEST_EVERY_MS: '300', // the periodic digest, fast enough to show a few runs
        OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
        NO_COLOR: '1',
        NODE_OPTIONS: '', // not Jest's flags, when a test runs the sample
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  let metrics = '';
  app.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  app.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  try {
    // Any HTTP answer, even a 404, means the app listens.
    await waitFor(() => fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false), 'the app to listen', app, output);
    for (const to of RECIPIENTS) await post(port, '/emails', { to });
    await post(port, '/orders', {});
    // Each email ends in a receipt, the order's flow in `ship`, and the digest runs on its own.
    // Waiting on log lines rather than spans works whatever JOB_TRACING_LEVEL hides; stopping
    // the app then removes the digest's scheduler and flushes every span it ended.
    const count = (line: string) => output.join('').split(line).length - 1;
    await waitFor(
      async () =>
        count(RECEIPT_STORED) === RECIPIENTS.length && count(ORDER_SHIPPED) === 1 && count(DIGEST_SENT) >= DIGEST_RUNS,
      'the jobs to finish',
      app,
      output,
    );
    await whileRunning?.({ metricsPort, post: (path, body) => post(port, path, body) });
    metrics = await scrapeMetrics(`http://127.0.0.1:${metricsPort}/metrics`);
  } finally {
    await stop(app);
    await deleteKeys(redisUrl, `${queuePrefix}:*`);
  }
  const logLines = output.join('').split('\n').filter((line) => line.includes(' task{'));
  return { spans: receiver.spans, logLines, metrics };
}

export function tasksOf(spans: ReceivedSpan[], queue: string): ReceivedSpan[] {
  return spans.filter((span) => span.name === 'task' && span.attributes['messaging.destination.name'] === queue);
}

async function post(port: number, path: string, body: object): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
}

async function waitFor(condition: () => Promise<boolean>, what: string, app: ChildProcess, output: string[]): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!(await condition())) {
    if (app.exitCode !== null) throw new Error(`The sample app exited (${app.exitCode}) while waiting for ${what}:\n${output.join('')}`);
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}:\n${output.join('')}`);
    await sleep(100);
  }
}

async function stop(app: ChildProcess): Promise<void> {
  if (app.exitCode !== null) return;
  const exited = new Promise((resolve) => app.once('exit', resolve));
  app.kill('SIGTERM');
  await exited;
}

async function main(): Promise<void> {
  let redis: RedisHandle;
  try {
    redis = await resolveRedis();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
  const receiver = new OtlpReceiver();
  try {
    const { spans, logLines, metrics } = await runSample({
      redisUrl: redis.url,
      receiver,
      otlpEndpoint: await receiver.start(),
      appDir: new URL('.', import.meta.url),
    });
    for (const [traceId, trace] of Map.groupBy(spans, (span) => span.traceId)) {
      // Only the traces that enqueued something, or link to one: skip the readiness probe's request.
      if (!trace.some((span) => span.kind === 'PRODUCER' || span.links.length > 0)) continue;
      console.log(`\ntrace ${traceId}`);
      console.log(formatTraceTree(trace));
    }
    console.log('\ncorrelated log lines:');
    for (const line of logLines) console.log(line);
    console.log('\nper queue, from the metrics the SDK collected (GET /metrics):');
    console.log(formatSummary(summarizeQueues(metrics)));
  } finally {
    await receiver.stop();
    await redis.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
