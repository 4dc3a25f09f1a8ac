// A Nest 11 application's own tests, run on every `npm test`: this folder is what
// `nest new` generates for tests (Jest 29, ts-jest, tsconfig `module: commonjs`),
// pinned by its own lockfile. Installs it (npm ci), puts the packed library into its
// node_modules, and runs its `npm test` (jest) against a real Redis.
// NEST11_JEST_TARBALL=<path to a .tgz> runs it against that package instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPackedLibrary } from '../support/packed-library.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const shell = process.platform === 'win32';

if (!existsSync(join(root, 'dist', 'cjs', 'index.js')) || !existsSync(join(root, 'dist-sample', 'redis.js'))) {
  throw new Error('Build first: `npm run build` (npm test does).');
}

execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
  cwd: here,
  stdio: 'inherit',
  shell,
});
const tarball = process.env.NEST11_JEST_TARBALL;
installPackedLibrary(root, here, tarball && resolve(tarball));

const { resolveRedis } = await import(join(root, 'dist-sample', 'redis.js'));
const redis = await resolveRedis();
let status;
try {
  // The application's own Jest, as its `npm test` runs it: no ESM mode, no option of ours.
  ({ status } = spawnSync(process.execPath, [join(here, 'node_modules', 'jest', 'bin', 'jest.js')], {
    cwd: here,
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: '', REDIS_URL: redis.url },
  }));
} finally {
  await redis.stop();
}
process.exitCode = status ?? 1;
