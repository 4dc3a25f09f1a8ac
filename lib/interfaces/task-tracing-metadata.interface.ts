import type { MakeSpan } from './make-span.interface.js';

/** What `@TraceTask` or `@SkipTaskTracing` recorded on a processor. */
export type TaskTracingMetadata = { traced: true; makeSpan?: MakeSpan } | { traced: false };
