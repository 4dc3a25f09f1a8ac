// Less noise on a small machine: the measured processes on one CPU and Redis on another,
// so that neither takes the other's time slices. Needs `taskset` (util-linux) and two CPUs;
// Redis is pinned only when it runs on this machine and its affinity may be changed, and
// its own affinity is given back when the bench ends.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { Redis } from 'ioredis';

export interface Pinning {
  /** For the report: what runs where. */
  describe: string;
  /** A command line (program first) as it runs pinned. */
  command(args: string[]): string[];
  /** Gives Redis its own affinity back; safe to call more than once. */
  restore(): void;
}

const MEASURED_CPU = '0';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export async function pinning(redis: Redis, redisUrl: string): Promise<Pinning> {
  const unpinned = (why: string): Pinning => ({ describe: `not pinned (${why})`, command: (args) => args, restore() {} });
  if (availableParallelism() < 2) return unpinned('one CPU');
  if (!taskset(['-V'])) return unpinned('no taskset');
  const redisCpu = String(availableParallelism() - 1);
  const command = (args: string[]) => ['taskset', '-c', MEASURED_CPU, ...args];
  const measured = `measured processes on CPU ${MEASURED_CPU}`;
  if (!LOOPBACK.has(new URL(redisUrl).hostname)) return { describe: `${measured}; Redis is on another host`, command, restore() {} };

  const pid = /process_id:(\d+)/.exec(await redis.info('server'))?.[1];
  const mask = pid && /affinity mask: (\w+)/.exec(taskset(['-p', pid]) ?? '')?.[1];
  if (!pid || !mask || taskset(['-p', '-c', redisCpu, pid]) === undefined) {
    return { describe: `${measured}; Redis not pinned (its affinity cannot be read or changed from here)`, command, restore() {} };
  }
  let restored = false;
  return {
    describe: `${measured}, Redis (pid ${pid}) on CPU ${redisCpu}`,
    command,
    restore() {
      if (restored) return;
      restored = true;
      taskset(['-p', mask, pid]);
    },
  };
}

/** Its output, or undefined when it failed. */
function taskset(args: string[]): string | undefined {
  try {
    return execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}
