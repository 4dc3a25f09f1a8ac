import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';

export const REDIS_HELP =
  'No Redis found: set REDIS_URL, run one on 127.0.0.1:6379, or put redis-server on PATH (Debian: apt-get install -y redis-server).';

export interface RedisHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * REDIS_URL if set, else 127.0.0.1:6379 if it answers, else a redis-server
 * started from PATH on a free port. Throws one line of advice if none works.
 */
export async function resolveRedis(): Promise<RedisHandle> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  if (await answersPing('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', stop: async () => {} };
  const port = await freePort();
  let server: ChildProcess;
  try {
    server = await startRedisServer(port);
  } catch {
    throw new Error(REDIS_HELP);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    },
  };
}

async function startRedisServer(port: number): Promise<ChildProcess> {
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('spawn', resolve);
  });
  for (let tries = 0; tries < 50; tries++) {
    if (await answersPing('127.0.0.1', port)) return server;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  server.kill();
  throw new Error(`redis-server did not answer on port ${port}`);
}

function answersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
