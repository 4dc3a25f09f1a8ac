export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __redis__?: { stop(): Promise<void> } }).__redis__?.stop();
}
