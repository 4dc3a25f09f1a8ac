import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OtlpReceiver, type ReceivedSpan } from '../sample/src/otlp-receiver.js';
import { freePort } from '../sample/src/redis.js';
import { type PrivateRedis, startPrivateRedis } from './support/private-redis.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// Inside the package and its package.json's scope, so `from 'nestjs-job-tracing'` resolves to the built package, as in an app.
const APP_DIR = join(ROOT, 'dist-quick-start');

/** The README's Quick start files: each ```ts block there that opens with `// src/<file>.ts`. */
function quickStartFiles(readme: string): Map<string, string> {
  const section = readme.slice(readme.indexOf('## Quick start\n'), readme.indexOf('\n## ', readme.indexOf('## Quick start\n') + 1));
  const files = new Map<string, string>();
  for (const [, code] of section.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const path = /^\/\/ (src\/[\w.-]+\.ts)\b/.exec(code)?.[1];
    if (path) files.set(path, code);
  }
  return files;
}

function waitForLine(child: ChildProcess, output: string[], pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${output.join('')}`)), timeoutMs);
    const check = () => {
      const line = output.join('').split('\n').find((candidate) => pattern.test(candidate));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve(line);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`the app exited (${code}):\n${output.join('')}`)));
    check();
  });
}

async function waitForSpans(receiver: OtlpReceiver, done: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    if (done(receiver.spans)) return receiver.spans;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`spans received: ${receiver.spans.map((span) => span.name).join(', ')}`);
}

describe('the Quick start, built and run as written, as an application of its own', () => {
  const receiver = new OtlpReceiver();
  let redis: PrivateRedis;
  let app: ChildProcess;
  const output: string[] = [];
  let port: number;

  beforeAll(async () => {
    const endpoint = await receiver.start();
    redis = await startPrivateRedis();
    const files = quickStartFiles(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect([...files.keys()].sort()).toEqual([
      'src/app.module.ts',
      'src/email.controller.ts',
      'src/email.processor.ts',
      'src/main.ts',
      'src/tracing.ts',
    ]);
    rmSync(APP_DIR, { recursive: true, force: true });
    for (const [path, code] of files) {
      mkdirSync(dirname(join(APP_DIR, path)), { recursive: true });
      writeFileSync(join(APP_DIR, path), code);
    }
    // The compiler options of `nest new`, in an ESM app.
    const compilerOptions = {
      target: 'es2023',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      strict: true,
      skipLibCheck: true,
      rewriteRelativeImportExtensions: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      rootDir: 'src',
      outDir: 'dist',
    };
    writeFileSync(join(APP_DIR, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }));
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', APP_DIR], { stdio: 'inherit' });

    port = await freePort();
    app = spawn(process.execPath, ['--import', './dist/tracing.js', 'dist/main.js'], {
      cwd: APP_DIR,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        PORT: String(port),
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(redis.port),
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        // The receiver reads OTLP/JSON; it takes no metrics, so none are exported (see docs/metrics.md).
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    app.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await waitForLine(app, output, /Nest application successfully started/);
  }, 90_000);

  afterAll(async () => {
    if (app && app.exitCode === null) {
      const exited = new Promise((resolve) => app.once('exit', resolve));
      process.kill(app.pid!, 'SIGTERM');
      await exited;
    }
    await receiver.stop();
    await redis?.stop();
    rmSync(APP_DIR, { recursive: true, force: true });
  });

  it("puts the job's task span in the HTTP request's trace, and the request's trace ids on the job's log lines", async () => {
    const response = await fetch(`http://127.0.0.1:${port}/emails`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: 'someone@example.com' }),
    });
    if (response.status !== 201) throw new Error(`POST /emails: ${response.status}\n${output.join('')}`);
    const { jobId } = (await response.json()) as { jobId: string };

    const isRequest = (span: ReceivedSpan) => span.kind === 'SERVER' && span.name.startsWith('POST');
    const spans = await waitForSpans(receiver, (all) =>
      [isRequest, (span: ReceivedSpan) => span.name === 'send email', (span: ReceivedSpan) => span.name === 'task'].every((is) => all.some(is)),
    );
    const request = spans.find(isRequest)!;
    const send = spans.find((span) => span.name === 'send email')!;
    const task = spans.find((span) => span.name === 'task')!;
    expect(send).toMatchObject({ kind: 'PRODUCER', traceId: request.traceId });
    expect(task).toMatchObject({ kind: 'CONSUMER', traceId: request.traceId, parentSpanId: send.spanId, service: 'email-service' });
    expect(task.attributes).toMatchObject({ task_id: jobId, attempt: 1 });

    const line = await waitForLine(app, output, /EmailProcessor: Sending the email/, 5_000);
    expect(line).toContain(`task{task_id=${jobId} attempt=1 trace_id=${request.traceId} span_id=${task.spanId}`);
    // The strategy continues the stored context: no notice about an ignored one.
    expect(output.join('')).not.toContain('does not continue');
  });
});
