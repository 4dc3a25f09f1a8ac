import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { uniqueQueueName } from './support/queues.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Runs test/fixtures/no-sdk-app.mjs in a process of its own: its output, and its job's BullMQ log. */
async function runApp(preload: string[], env: Record<string, string> = {}): Promise<{ lines: string[]; jobLog: string[] }> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [...preload, 'no-sdk-app.mjs'], {
    cwd: FIXTURES,
    env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', QUEUE_NAME: uniqueQueueName('no-sdk'), ...env },
    timeout: 30_000,
  });
  const lines = `${stdout}${stderr}`.split('\n').filter(Boolean);
  const jobLogLine = lines.find((line) => line.startsWith('job-log '));
  if (!jobLogLine) throw new Error(`the app did not finish:\n${lines.join('\n')}`);
  return { lines, jobLog: JSON.parse(jobLogLine.slice('job-log '.length)) as string[] };
}

describe.each([
  ['no OpenTelemetry SDK at all', [], {}],
  ['a NodeSDK with OTEL_SDK_DISABLED=true', ['--import', './sdk-disabled.mjs'], { OTEL_SDK_DISABLED: 'true' }],
])('with %s, a job whose first attempt fails', (_name, preload, env) => {
  let run: { lines: string[]; jobLog: string[] };

  it('leaves no line with zero ids in the job log, and the library writes no warning', async () => {
    run = await runApp(preload, env);
    expect(run.jobLog.filter((line) => line.includes('0000000000000000'))).toEqual([]);
    expect(run.jobLog.filter((line) => line.startsWith('[nestjs-job-tracing]'))).toEqual([]);
    expect(run.lines.filter((line) => /\bWARN\b/.test(line))).toEqual([]);
  });

  it('still writes task_id and attempt on the lines logged inside the job', () => {
    const working = run.lines.filter((line) => line.endsWith('FailingOnceProcessor: working'));
    expect(working).toEqual([
      expect.stringMatching(/ INFO task\{task_id=\S+ attempt=1\}: FailingOnceProcessor: working$/),
      expect.stringMatching(/ INFO task\{task_id=\S+ attempt=2\}: FailingOnceProcessor: working$/),
    ]);
    expect(run.lines.find((line) => line.includes('Failed in'))).toMatch(/ERROR task\{task_id=\S+ attempt=1\}: JobTracing: Failed in/);
  });
});
