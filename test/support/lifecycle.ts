import { afterEach, beforeAll } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { setupTracing } from './tracing.js';

export interface TestState {
  exporter: InMemorySpanExporter;
  /** Set by a test; closed after it. */
  app?: INestApplicationContext;
}

/** Registers the SDK once per file, and after each test closes its app and forgets its spans. */
export function useTracingPerTest(): TestState {
  const state = {} as TestState;
  beforeAll(() => {
    state.exporter = setupTracing();
  });
  afterEach(async () => {
    await state.app?.close();
    state.app = undefined;
    state.exporter.reset();
  });
  return state;
}
