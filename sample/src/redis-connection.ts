/** BullMQ connection options from REDIS_URL (default: redis://127.0.0.1:6379). */
export function redisConnectionFromEnv(): { host: string; port: number; password?: string } {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.password && { password: decodeURIComponent(url.password) }),
  };
}
