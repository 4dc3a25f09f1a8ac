// The library as npm would publish it, put into a test application's node_modules
// (as `npm install <tarball>` would, without touching that application's lockfile),
// so that its imports resolve to the application's own peers.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const shell = process.platform === 'win32';

/** Packs `root` (or takes the given `tarball`) and extracts it into `app`/node_modules/nestjs-job-tracing. */
export function installPackedLibrary(root, app, tarball) {
  const packDir = mkdtempSync(join(tmpdir(), 'nestjs-job-tracing-pack-'));
  try {
    if (!tarball) {
      const [{ filename }] = JSON.parse(
        execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], {
          cwd: root,
          encoding: 'utf8',
          shell,
        }),
      );
      tarball = join(packDir, filename);
    }
    const installed = join(app, 'node_modules', 'nestjs-job-tracing');
    rmSync(installed, { recursive: true, force: true });
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}
