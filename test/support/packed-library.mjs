// For the folders under test/ that are applications of their own (low-peers, vitest-consumer):
// installs the folder's own lockfile (npm ci), then puts the packed library into its node_modules,
// so the library's imports resolve to the folder's peers, as they would in an application.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shell = process.platform === 'win32';

export function installPackedLibrary(folder) {
  if (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(join(root, 'dist-sample', 'redis.js'))) {
    throw new Error('Build first: `npm run build` (npm test does).');
  }
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: folder,
    stdio: 'inherit',
    shell,
  });
  // The tarball, not the repo: files under lib/ would resolve @nestjs/* from the root's node_modules.
  const packDir = mkdtempSync(join(tmpdir(), 'packed-library-'));
  try {
    const [{ filename }] = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], {
        cwd: root,
        encoding: 'utf8',
        shell,
      }),
    );
    const installed = join(folder, 'node_modules', 'nestjs-job-tracing');
    rmSync(installed, { recursive: true, force: true });
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(packDir, filename), '-C', installed, '--strip-components=1']);
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}

/** Runs `work(redisUrl)` against the tests' Redis (REDIS_URL, 127.0.0.1:6379, or a redis-server of its own). */
export async function withRedis(work) {
  const { resolveRedis } = await import(join(root, 'dist-sample', 'redis.js'));
  const redis = await resolveRedis();
  try {
    return await work(redis.url);
  } finally {
    await redis.stop();
  }
}
