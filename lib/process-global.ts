/**
 * State that must exist once per process, even when both builds of this package
 * load in it (the ESM one by `import`, the CommonJS one by `require`) or two
 * installed copies do. Kept on globalThis under a registered symbol, as
 * @opentelemetry/api keeps its globals, so every copy finds the same value: its
 * shape is a contract between copies and versions, and may only grow.
 */
export function processGlobal<T>(name: string, create: () => T): T {
  const store = globalThis as unknown as Record<symbol, T | undefined>;
  return (store[Symbol.for(`nestjs-job-tracing.${name}`)] ??= create());
}
