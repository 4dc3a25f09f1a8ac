import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../sample/src/redis.js';
import { killProcess } from './processes.js';

const run = promisify(execFile);

/** A redis-server this test owns: on a free port, with its data in a temp dir. Never the shared one. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL by pid, as a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir (its append-only file). */
  restart(): Promise<void>;
  /** Stops it by pid and removes its dir. */
  stop(): Promise<void>;
}

export async function startOwnRedis(extraArgs: string[] = []): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'job-tracing-redis-'));
  const port = await freePort();
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...extraArgs], {
      stdio: 'ignore',
    });
    await waitForPing(port);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: async () => killProcess(server!, 'SIGKILL'),
    restart: start,
    stop: async () => {
      if (server) await killProcess(server);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis Cluster of `masters` masters and no replicas, each its own redis-server. */
export async function startOwnRedisCluster(masters = 3): Promise<{ nodes: string; stop(): Promise<void> }> {
  const servers = await Promise.all(
    Array.from({ length: masters }, () => startOwnRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--appendonly', 'no'])),
  );
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const server of servers) {
      const deadline = Date.now() + 30_000;
      while (!(await run('redis-cli', ['-p', String(server.port), 'cluster', 'info'])).stdout.includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`cluster node ${server.port} not ok`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return { nodes: addresses.join(','), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForPing(port: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    try {
      if ((await run('redis-cli', ['-p', String(port), 'ping'])).stdout.trim() === 'PONG') return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis-server did not answer on port ${port}`);
}
