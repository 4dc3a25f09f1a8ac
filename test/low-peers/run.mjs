// The low end of every peer range package.json claims, run on every `npm test`:
// installs this folder's lockfile (npm ci), puts the packed library into its
// node_modules, so the library's own imports resolve to the low peers, then
// type-checks and runs the suite in src/ against a real Redis.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPackedLibrary } from '../support/packed-library.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const shell = process.platform === 'win32';

if (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(join(root, 'dist-sample', 'redis.js'))) {
  throw new Error('Build first: `npm run build` (npm test does).');
}

execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
  cwd: here,
  stdio: 'inherit',
  shell,
});

// The tarball, not the repo: files under lib/ would resolve @nestjs/* from the root's node_modules.
installPackedLibrary(root, here);

rmSync(join(here, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', here], { stdio: 'inherit' });

const { resolveRedis } = await import(join(root, 'dist-sample', 'redis.js'));
const { removeRunKeys } = await import(join(root, 'dist-sample', 'delete-keys.js'));
const redis = await resolveRedis();
// In every queue name the suite makes: the suite deletes its queues, and nothing of this run may be left.
const runId = `lowpeers${randomUUID().slice(0, 8)}`;
let status;
try {
  const suites = readdirSync(join(here, 'dist'))
    .filter((file) => file.endsWith('.test.js'))
    .map((file) => join(here, 'dist', file));
  // In this process (stdout is the test's to read) and exiting when done, as Jest's forceExit does.
  ({ status } = spawnSync(process.execPath, ['--test', '--test-isolation=none', '--test-force-exit', ...suites], {
    cwd: here,
    stdio: 'inherit',
    env: { ...process.env, REDIS_URL: redis.url, JOB_TRACING_TEST_RUN: runId },
  }));
  await removeRunKeys(redis.url, runId, 'low-peers');
} finally {
  await redis.stop();
}
process.exitCode = status ?? 1;
