import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

/** Debian's `chromium` package; only needed to make the docs' picture again, not in CI. */
export const CHROMIUM_BIN = '/usr/bin/chromium';

/** Renders `url` in headless Chromium and writes a PNG of the window to `pngPath`. */
export async function screenshot(url: string, pngPath: string, { width = 1280, height = 800 } = {}): Promise<void> {
  mkdirSync(dirname(pngPath), { recursive: true });
  rmSync(pngPath, { force: true });
  await promisify(execFile)(
    CHROMIUM_BIN,
    [
      '--headless',
      '--no-sandbox', // as root in a container
      '--disable-gpu',
      '--hide-scrollbars',
      `--window-size=${width},${height}`,
      '--virtual-time-budget=10000', // lets the page's scripts fetch and draw the graph
      `--screenshot=${pngPath}`,
      url,
    ],
    { timeout: 60_000 },
  );
  // Chromium exits 0 even when it wrote nothing.
  if (!existsSync(pngPath)) throw new Error(`chromium wrote no ${pngPath}`);
}
