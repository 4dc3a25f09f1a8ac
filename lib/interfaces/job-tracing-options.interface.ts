import type { MakeSpan } from './make-span.interface.js';
import type { TaskHooks } from './task-hooks.interface.js';

export interface JobTracingModuleOptions extends TaskHooks {
  /** Strategy for processors without `@TraceTask`. Default: `new DefaultTaskSpan()`. */
  makeSpan?: MakeSpan;
  /**
   * Level filter, `DEFAULT[,QUEUE=LEVEL…]`, e.g. `info,email=debug`. Default: `info`.
   * The JOB_TRACING_LEVEL environment variable, when set, wins over it.
   */
  level?: string;
  /** Name of the OpenTelemetry tracer. Default: `nestjs-job-tracing`. */
  tracerName?: string;
  /**
   * Strategy per queue for the processors given to `BullModule.registerQueue({ name, processors })`,
   * which have no class to decorate; `false` leaves that queue's inline processors untraced.
   * Queues not listed use `makeSpan`.
   */
  processors?: Record<string, MakeSpan | false>;
  /** Whether `TracedQueue` wraps `add`/`addBulk` in a PRODUCER span `send <queue>`. Default: true. */
  producerSpan?: boolean;
}
