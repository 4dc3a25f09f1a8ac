import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cpSync, realpathSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { uniqueQueueName } from './support/queues.js';

const FOLDER = fileURLToPath(new URL('./fixtures/duplicate-copies/', import.meta.url));
const NESTED_NODE_MODULES = `${FOLDER}node_modules`;
const NESTED_COPY = `${NESTED_NODE_MODULES}/@nestjs/bullmq`;
const ROOT_COPY = realpathSync(fileURLToPath(new URL('../node_modules/@nestjs/bullmq', import.meta.url)));

async function startAndClose(): Promise<string[]> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [`${FOLDER}app.mjs`], {
    env: { ...process.env, NODE_OPTIONS: '', QUEUE_NAME: uniqueQueueName('duplicate-copies') },
    timeout: 30_000,
  });
  return `${stdout}${stderr}`.split('\n').filter((line) => line.includes('copies'));
}

describe('a second copy of @nestjs/bullmq', () => {
  afterAll(() => rmSync(NESTED_NODE_MODULES, { recursive: true, force: true }));

  it('is named in one WARN line at start-up, with both paths and the fix', async () => {
    // A real second copy, installed where this app resolves it first.
    cpSync(ROOT_COPY, NESTED_COPY, { recursive: true });
    const lines = await startAndClose();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('WARN');
    expect(lines[0]).toContain(ROOT_COPY);
    expect(lines[0]).toContain(realpathSync(NESTED_COPY));
    expect(lines[0]).toContain('ReportProcessor');
    expect(lines[0]).toContain('npm ls @nestjs/bullmq');
  });

  it('says nothing when the app and the library share one copy', async () => {
    rmSync(NESTED_NODE_MODULES, { recursive: true, force: true });
    expect(await startAndClose()).toEqual([]);
  });
});
