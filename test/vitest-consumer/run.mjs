// A Nest 12 application as `nest new` makes it today, run on every `npm test`: ESM, its tests
// run by vitest, bullmq 6 on ioredis 6, pinned by its own lockfile. Installs it (npm ci), puts
// the packed library into its node_modules, and runs `vitest run` against a real Redis.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPackedLibrary } from '../support/packed-library.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

if (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(join(root, 'dist-sample', 'redis.js'))) {
  throw new Error('Build first: `npm run build` (npm test does).');
}

execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
  cwd: here,
  stdio: 'inherit',
  shell: process.platform === 'win32',
});
installPackedLibrary(root, here);

const { resolveRedis } = await import(join(root, 'dist-sample', 'redis.js'));
const redis = await resolveRedis();
let status;
try {
  ({ status } = spawnSync(process.execPath, [join(here, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], {
    cwd: here,
    stdio: 'inherit',
    env: { ...process.env, REDIS_URL: redis.url },
  }));
} finally {
  await redis.stop();
}
process.exitCode = status ?? 1;
