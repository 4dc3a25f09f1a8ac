import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../../sample/src/redis.js';

export interface PrivateRedis {
  port: number;
  url: string;
  /**
   * Every command a client sent since start, as MONITOR reports them (command name lower-cased, then
   * args); commands run inside Lua scripts are left out, as they cost no round trip.
   */
  commands: string[][];
  stop(): Promise<void>;
}

/** A redis-server of this test's own on a free port, watched with MONITOR; stopped by its pid only. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('spawn', resolve);
  });
  let monitorClient: Redis;
  for (let tries = 0; ; tries++) {
    monitorClient = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    try {
      await monitorClient.connect();
      break;
    } catch (error) {
      monitorClient.disconnect();
      if (tries > 50) {
        server.kill('SIGTERM'); // never leave a server of ours behind
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const commands: string[][] = [];
  const monitor = await monitorClient.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    commands.push([String(args[0]).toLowerCase(), ...args.slice(1).map(String)]);
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    commands,
    stop: async () => {
      monitor.disconnect();
      monitorClient.disconnect();
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    },
  };
}
