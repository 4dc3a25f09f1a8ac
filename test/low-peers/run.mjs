// The low end of every peer range package.json claims, run on every `npm test`:
// installs this folder's lockfile (npm ci), puts the packed library into its
// node_modules, so the library's own imports resolve to the low peers, then
// type-checks and runs the suite in src/ against a real Redis.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPackedLibrary, root, withRedis } from '../support/packed-library.mjs';

const here = dirname(fileURLToPath(import.meta.url));
installPackedLibrary(here);

rmSync(join(here, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', here], { stdio: 'inherit' });

const status = await withRedis((redisUrl) => {
  const suites = readdirSync(join(here, 'dist'))
    .filter((file) => file.endsWith('.test.js'))
    .map((file) => join(here, 'dist', file));
  // In this process (stdout is the test's to read) and exiting when done, as Jest's forceExit does.
  return spawnSync(process.execPath, ['--test', '--test-isolation=none', '--test-force-exit', ...suites], {
    cwd: here,
    stdio: 'inherit',
    env: { ...process.env, REDIS_URL: redisUrl },
  }).status;
});
process.exitCode = status ?? 1;
