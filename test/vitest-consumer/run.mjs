// A Nest 12 application as `nest new` makes it today, run on every `npm test`: ESM, its tests
// run by vitest, bullmq 6 on ioredis 6. Installs this folder's lockfile and the packed library,
// then runs vitest against a real Redis.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPackedLibrary, withRedis } from '../support/packed-library.mjs';

const here = dirname(fileURLToPath(import.meta.url));
installPackedLibrary(here);

const status = await withRedis(
  (redisUrl) =>
    spawnSync(process.execPath, [join(here, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], {
      cwd: here,
      stdio: 'inherit',
      env: { ...process.env, REDIS_URL: redisUrl },
    }).status,
);
process.exitCode = status ?? 1;
