import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { uniqueQueueName } from './support/queues.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/dual-builds.mjs', import.meta.url));

interface DualBuildsReport {
  files: { commonjs: string; esm: string };
  exports: Record<'commonjs' | 'esm', { root: string[]; sandbox: string[] }>;
  sameModuleClass: boolean;
  registries: { processorDecorations?: number; workerProcessTracings?: number };
  jobs: Array<{ build: string; kind: string; queue: string; jobId: string; result: string }>;
  spans: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string; queue?: string; taskId?: string; attempt?: number }>;
}

describe('the CommonJS and the ESM build loaded in one process', () => {
  it('patch each prototype once and share one registry, so the apps of both builds trace their jobs', async () => {
    const queues = {
      commonjs: { decorated: uniqueQueueName('dual-cjs-decorated'), inline: uniqueQueueName('dual-cjs-inline') },
      esm: { decorated: uniqueQueueName('dual-esm-decorated'), inline: uniqueQueueName('dual-esm-inline') },
    };
    // Node 24 (npm test's), on the built package, as an ES module app whose CommonJS dependency requires it.
    const { stdout } = await promisify(execFile)(process.execPath, [FIXTURE], {
      env: { ...process.env, NODE_OPTIONS: '', QUEUES: JSON.stringify(queues) },
      timeout: 60_000,
    });
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as DualBuildsReport;

    expect(report.files.commonjs).toMatch(/[/\\]dist[/\\]cjs[/\\]index\.js$/);
    expect(report.files.esm).toMatch(/[/\\]dist[/\\]index\.js$/);
    expect(report.sameModuleClass).toBe(false);
    // The same public surface from both, for both entry points.
    expect(report.exports.commonjs).toEqual(report.exports.esm);
    expect(report.exports.esm.root).toContain('JobTracingModule');
    expect(report.exports.esm.sandbox).toContain('traceSandboxedProcessor');
    expect(report.jobs.map(({ build, kind, result }) => ({ build, kind, result }))).toEqual([
      { build: 'commonjs', kind: 'decorated', result: 'decorated by commonjs' },
      { build: 'commonjs', kind: 'inline', result: 'inline by commonjs' },
      { build: 'esm', kind: 'decorated', result: 'decorated by esm' },
      { build: 'esm', kind: 'inline', result: 'inline by esm' },
    ]);
    for (const job of report.jobs) {
      const ofQueue = report.spans.filter((span) => span.queue === job.queue);
      // Exactly one task span: a second patch would wrap the processor twice.
      const tasks = ofQueue.filter((span) => span.name === 'task');
      const send = ofQueue.find((span) => span.name === `send ${job.queue}`);
      const request = report.spans.find((span) => span.spanId === send?.parentSpanId && span.name === 'request');
      expect({ job: `${job.build} ${job.kind}`, tasks: tasks.length, sendUnderRequest: request !== undefined }).toEqual({
        job: `${job.build} ${job.kind}`,
        tasks: 1,
        sendUnderRequest: true,
      });
      expect(tasks[0]).toMatchObject({ taskId: job.jobId, attempt: 1, traceId: send!.traceId, parentSpanId: send!.spanId });
    }
    // One registry each, holding both apps: whichever build patched first dispatches to both.
    expect(report.registries).toEqual({ processorDecorations: 2, workerProcessTracings: 2 });
  }, 90_000);
});
