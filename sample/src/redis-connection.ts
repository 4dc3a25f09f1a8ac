export interface RedisConnection {
  host: string;
  port: number;
  password?: string;
  db?: number;
}

/** BullMQ connection options from a `redis://` URL. */
export function connectionFromUrl(redisUrl: string): RedisConnection {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.password && { password: decodeURIComponent(url.password) }),
    ...(url.pathname.length > 1 && { db: Number(url.pathname.slice(1)) }),
  };
}

/** BullMQ connection options from REDIS_URL (default: redis://127.0.0.1:6379). */
export function redisConnectionFromEnv(): RedisConnection {
  return connectionFromUrl(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
}
